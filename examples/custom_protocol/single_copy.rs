//! The single-copy protocol: one copy of a key-value store on node 0. Every other node
//! forwards client requests to node 0 and relays its answers, so the store is trivially
//! linearizable; the known bug `answer_locally` makes a forwarding node answer reads from
//! a cache of the values it relayed, which goes stale.
//!
//! A protocol declares each option and each bug switch once, with `declare_options!` and
//! `declare_bugs!`: the declaration is the typed field the protocol reads, the spec that
//! scenarios are checked against (a misspelled `[protocol.options]` key is reported at its
//! line with the closest name), and what `dsim protocols` prints.

use protocols::kv::{Applied, KvStore};
use sim_core::engine::NoObserver;
use sim_core::history::Value;
use sim_core::kv::{KvWorkload, Op};
use sim_core::node::{Context, Node, NodeId, Reply, Request, RequestId};
use sim_core::protocol::Protocol;
use sim_core::{SimDuration, declare_bugs, declare_options};
use std::collections::BTreeMap;

const HOME: NodeId = NodeId(0);

declare_options! {
    /// What a scenario may set in `[protocol.options]`.
    pub struct Options {
        /// Forwarding nodes hold each request this long before passing it on to node 0.
        forward_delay: SimDuration = SimDuration::ZERO,
    }
}

declare_bugs! {
    /// What a scenario may turn on in `protocol.bugs` (or `--bug`).
    pub struct Bugs {
        /// Forwarding nodes answer reads from a stale cache.
        answer_locally,
    }
}

/// What every node starts from.
#[derive(Clone, Debug)]
pub struct Config {
    pub options: Options,
    pub bugs: Bugs,
}

#[derive(Debug)]
pub struct SingleCopy {
    store: KvStore,
    /// Forwarders: values relayed from node 0, by key (read by the buggy local answers).
    cache: BTreeMap<u64, Value>,
    config: Config,
}

#[derive(Clone, Debug, Hash)]
pub enum Msg {
    Forward { request: Request<Op> },
    Answer { id: RequestId, key: u64, reply: Reply<Value> },
}

impl Node for SingleCopy {
    type Config = Config;
    type Msg = Msg;
    /// A request held back for `forward_delay`.
    type Timer = Request<Op>;
    type Workload = KvWorkload;

    fn start(config: &Config, _ctx: &mut Context<'_, Self>) -> Self {
        SingleCopy { store: KvStore::default(), cache: BTreeMap::new(), config: config.clone() }
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

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        ctx.send(HOME, Msg::Forward { request });
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        let local = self.config.bugs.answer_locally && ctx.id() != HOME;
        if let (true, Op::Read { key }) = (local, &request.op) {
            let value = self.cache.get(key).cloned().unwrap_or(Value::Nil);
            ctx.reply(request.id, Reply::Ok(value));
            return;
        }
        let delay = self.config.options.forward_delay;
        if ctx.id() == HOME {
            self.on_message(ctx, HOME, Msg::Forward { request });
        } else if delay == SimDuration::ZERO {
            ctx.send(HOME, Msg::Forward { request });
        } else {
            ctx.set_timer(delay, request);
        }
    }
}

impl Protocol for SingleCopy {
    const NAME: &'static str = "single-copy";
    const SUMMARY: &'static str = "One copy on node 0; other nodes forward (an example protocol)";
    type Invariants = NoObserver;
    type Options = Options;
    type Bugs = Bugs;

    fn configure(options: Options, bugs: Bugs) -> Result<Config, String> {
        Ok(Config { options, bugs })
    }
}
