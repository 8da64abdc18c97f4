//! The single-copy protocol: one copy of a key-value store on node 0. Every other node
//! forwards client requests to node 0 and relays its answers, so the store is trivially
//! linearizable; the known bug `answer_locally` makes a forwarding node answer reads from
//! a cache of the values it relayed, which goes stale.

use protocols::kv::{Applied, KvStore};
use sim_core::engine::NoObserver;
use sim_core::history::Value;
use sim_core::kv::{KvWorkload, Op};
use sim_core::node::{Context, Node, NodeId, Reply, Request, RequestId};
use sim_core::protocol::{BugSpec, OptionSpec, Options, Protocol};
use std::collections::BTreeMap;

const HOME: NodeId = NodeId(0);

#[derive(Debug)]
pub struct SingleCopy {
    store: KvStore,
    /// Forwarders: values relayed from node 0, by key (read by the buggy local answers).
    cache: BTreeMap<u64, Value>,
    answer_locally: bool,
}

#[derive(Clone, Debug, Hash)]
pub enum Msg {
    Forward { request: Request<Op> },
    Answer { id: RequestId, key: u64, reply: Reply<Value> },
}

impl Node for SingleCopy {
    type Config = bool;
    type Msg = Msg;
    type Timer = ();
    type Workload = KvWorkload;

    fn start(answer_locally: &bool, _ctx: &mut Context<'_, Self>) -> Self {
        SingleCopy {
            store: KvStore::default(),
            cache: BTreeMap::new(),
            answer_locally: *answer_locally,
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Forward { request } => {
                let key = request.op.key();
                let reply = match self.store.apply(&request) {
                    Applied::Executed(reply) | Applied::Duplicate(reply) => reply,
                    Applied::Stale => return,
                };
                ctx.send(from, Msg::Answer { id: request.id, key, reply });
            }
            Msg::Answer { id, key, reply } => {
                if let Reply::Ok(value) = &reply
                    && *value != Value::Nil
                {
                    self.cache.insert(key, value.clone());
                }
                ctx.reply(id, reply);
            }
        }
    }

    fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _timer: ()) {}

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        if let (true, Op::Read { key }) = (self.answer_locally && ctx.id() != HOME, &request.op) {
            let value = self.cache.get(key).cloned().unwrap_or(Value::Nil);
            ctx.reply(request.id, Reply::Ok(value));
            return;
        }
        if ctx.id() == HOME {
            self.on_message(ctx, HOME, Msg::Forward { request });
        } else {
            ctx.send(HOME, Msg::Forward { request });
        }
    }
}

impl Protocol for SingleCopy {
    const NAME: &'static str = "single-copy";
    const SUMMARY: &'static str = "One copy on node 0; other nodes forward (an example protocol)";
    type Invariants = NoObserver;

    fn options() -> Vec<OptionSpec> {
        Vec::new()
    }

    fn bugs() -> Vec<BugSpec> {
        vec![BugSpec {
            name: "answer_locally",
            doc: "Forwarding nodes answer reads from a stale cache",
        }]
    }

    fn configure(_options: &Options, bugs: &[&str]) -> Result<bool, String> {
        Ok(bugs.contains(&"answer_locally"))
    }
}
