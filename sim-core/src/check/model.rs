//! Sequential specifications the linearizability checker tests histories against.
//!
//! A model describes one key: the checker splits a history by `HistoryEvent::key` and runs
//! the model on each key's operations on their own (P-compositionality), so a register
//! model checked against a multi-key history treats every key as an independent register.
//!
//! To add a model, implement [`Model`]: a state type, the initial state, and `step`, which
//! says whether an operation with this input and output may happen in a state and what
//! state follows. `step` must be a pure function; the search calls it many times on the
//! same arguments.

use super::operations::Operation;
use crate::history::{Function, History, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::str::FromStr;

/// A sequential specification of one key. Keys are checked in parallel, so a model is
/// shared between threads and its states move between them.
pub trait Model: Sync {
    /// The state of one key. Hashed with `StableHasher` for the search's memo table.
    type State: Clone + Eq + Hash + Send;

    /// The name a person would use (`register`, `kv`).
    fn name(&self) -> &'static str;

    /// The state every key starts in.
    fn init(&self) -> Self::State;

    /// Whether the model gives a meaning to this operation; called once per operation
    /// before the search. `Err` says what is wrong, for a person to read.
    fn validate(
        &self,
        _f: Function,
        _input: &Value,
        _output: Option<&Value>,
    ) -> Result<(), String> {
        Ok(())
    }

    /// The state after the operation, or `None` if it cannot happen in `state`. `output` is
    /// `None` when the operation's outcome is unknown (it completed `info`).
    fn step(
        &self,
        state: &Self::State,
        f: Function,
        input: &Value,
        output: Option<&Value>,
    ) -> Option<Self::State>;

    /// `step` for one operation of the history; the checker calls this. A model of every key
    /// at once ([`WholeMap`]) reads the operation's key here.
    fn step_operation(&self, state: &Self::State, op: &Operation) -> Option<Self::State> {
        self.step(state, op.f, &op.input, op.output.as_ref())
    }

    /// Whether the checker may split a history by key and check each key on its own
    /// (P-compositionality, the default); [`WholeMap`] says no.
    fn per_key(&self) -> bool {
        true
    }

    /// A state in words, for explanations: `the register holds 4`.
    fn describe_state(&self, state: &Self::State) -> String;

    /// Roughly how many bytes a state takes, counted against the search budget each time
    /// the search keeps a new state.
    fn state_size(&self, _state: &Self::State) -> usize {
        std::mem::size_of::<Self::State>()
    }

    /// For a model that is a register: its initial value. With [`Model::register_op`], this
    /// lets the checker decide a key whose written values are all distinct in polynomial
    /// time instead of searching. `None` (the default): always search.
    fn register_init(&self) -> Option<Value> {
        None
    }

    /// For a model that is a register: the operation as a read, write or compare-and-set of
    /// whole values, which must agree with `step` (a read steps only in the state holding
    /// its value, and so on), values compared as `register_init`'s. `None` for an
    /// operation that is none of these (an append): its key is searched.
    fn register_op(
        &self,
        _f: Function,
        _input: &Value,
        _output: Option<&Value>,
    ) -> Option<RegisterOp> {
        None
    }
}

/// An operation of a register, for the checker's unique-values method (see
/// [`Model::register_op`]). An indeterminate read has no register reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterOp {
    Read(Value),
    Write(Value),
    Cas { expected: Value, new: Value },
}

/// The register reading of a read, write or cas of `Register` and `CasRegister`.
fn register_op(f: Function, input: &Value, output: Option<&Value>) -> Option<RegisterOp> {
    match (f, input) {
        (Function::Read, _) => Some(RegisterOp::Read(output?.clone())),
        (Function::Write, _) => Some(RegisterOp::Write(input.clone())),
        (Function::Cas, Value::List(pair)) if pair.len() == 2 => {
            Some(RegisterOp::Cas { expected: pair[0].clone(), new: pair[1].clone() })
        }
        _ => None,
    }
}

fn unsupported(model: &str, f: Function, hint: &str) -> Result<(), String> {
    Err(format!("the {model} model has no {} operation{hint}", f.name()))
}

/// A read/write register starting as nil. A read must return the last value written.
#[derive(Clone, Copy, Debug, Default)]
pub struct Register;

impl Model for Register {
    type State = Value;

    fn name(&self) -> &'static str {
        "register"
    }

    fn init(&self) -> Value {
        Value::Nil
    }

    fn validate(&self, f: Function, _input: &Value, _output: Option<&Value>) -> Result<(), String> {
        match f {
            Function::Read | Function::Write => Ok(()),
            Function::Cas => unsupported("register", f, " (use the cas-register model)"),
            Function::Append => unsupported("register", f, " (use the kv model)"),
            _ => unsupported("register", f, ""),
        }
    }

    fn step(
        &self,
        state: &Value,
        f: Function,
        input: &Value,
        output: Option<&Value>,
    ) -> Option<Value> {
        match f {
            Function::Read => read_register(state, output),
            Function::Write => Some(input.clone()),
            _ => None,
        }
    }

    fn describe_state(&self, state: &Value) -> String {
        format!("the register holds {state}")
    }

    fn state_size(&self, state: &Value) -> usize {
        value_size(state)
    }

    fn register_init(&self) -> Option<Value> {
        Some(Value::Nil)
    }

    fn register_op(
        &self,
        f: Function,
        input: &Value,
        output: Option<&Value>,
    ) -> Option<RegisterOp> {
        match f {
            Function::Read | Function::Write => register_op(f, input, output),
            _ => None,
        }
    }
}

fn read_register(state: &Value, output: Option<&Value>) -> Option<Value> {
    match output {
        Some(read) if read != state => None,
        _ => Some(state.clone()),
    }
}

fn value_size(value: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match value {
            Value::Str(text) => text.len(),
            Value::List(items) => items.iter().map(value_size).sum(),
            Value::Nil | Value::Int(_) => 0,
        }
}

/// A register with compare-and-set, starting as nil. A cas's input is `[expected new]`;
/// a cas that completed `ok` happened only if the register held `expected` (a cas that
/// completed `fail` did not happen and never reaches the model).
#[derive(Clone, Copy, Debug, Default)]
pub struct CasRegister;

impl Model for CasRegister {
    type State = Value;

    fn name(&self) -> &'static str {
        "cas-register"
    }

    fn init(&self) -> Value {
        Value::Nil
    }

    fn validate(&self, f: Function, input: &Value, _output: Option<&Value>) -> Result<(), String> {
        match (f, input) {
            (Function::Read | Function::Write, _) => Ok(()),
            (Function::Cas, Value::List(pair)) if pair.len() == 2 => Ok(()),
            (Function::Cas, _) => Err(format!("a cas needs the value [expected new], not {input}")),
            (Function::Append, _) => unsupported("cas-register", f, " (use the kv model)"),
            _ => unsupported("cas-register", f, ""),
        }
    }

    fn step(
        &self,
        state: &Value,
        f: Function,
        input: &Value,
        output: Option<&Value>,
    ) -> Option<Value> {
        match (f, input) {
            (Function::Read, _) => read_register(state, output),
            (Function::Write, _) => Some(input.clone()),
            (Function::Cas, Value::List(pair)) if pair.len() == 2 && pair[0] == *state => {
                Some(pair[1].clone())
            }
            _ => None,
        }
    }

    fn describe_state(&self, state: &Value) -> String {
        format!("the register holds {state}")
    }

    fn state_size(&self, state: &Value) -> usize {
        value_size(state)
    }

    fn register_init(&self) -> Option<Value> {
        Some(Value::Nil)
    }

    fn register_op(
        &self,
        f: Function,
        input: &Value,
        output: Option<&Value>,
    ) -> Option<RegisterOp> {
        register_op(f, input, output)
    }
}

/// Porcupine's key-value store, one key at a time: every key starts as the empty string;
/// `get` (read) returns the value, `put` (write) replaces it, `append` concatenates to it.
/// Values are strings; an integer stands for its decimal digits and nil for "".
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyValue;

fn text_of(value: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match value {
        Value::Nil => Some("".into()),
        Value::Str(text) => Some(text.as_str().into()),
        Value::Int(number) => Some(number.to_string().into()),
        Value::List(_) => None,
    }
}

impl Model for KeyValue {
    type State = String;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self) -> String {
        String::new()
    }

    fn validate(&self, f: Function, input: &Value, output: Option<&Value>) -> Result<(), String> {
        let checked = match f {
            Function::Read => output,
            Function::Write | Function::Append => Some(input),
            Function::Cas => return unsupported("kv", f, " (use the cas-register model)"),
            _ => return unsupported("kv", f, ""),
        };
        match checked {
            Some(value @ Value::List(_)) => {
                Err(format!("the kv model holds strings, not lists like {value}"))
            }
            _ => Ok(()),
        }
    }

    fn step(
        &self,
        state: &String,
        f: Function,
        input: &Value,
        output: Option<&Value>,
    ) -> Option<String> {
        match f {
            Function::Read => match output {
                None => Some(state.clone()),
                Some(read) => (text_of(read)? == state.as_str()).then(|| state.clone()),
            },
            Function::Write => Some(text_of(input)?.into_owned()),
            Function::Append => {
                let suffix = text_of(input)?;
                let mut next = String::with_capacity(state.len() + suffix.len());
                next.push_str(state);
                next.push_str(&suffix);
                Some(next)
            }
            _ => None,
        }
    }

    fn describe_state(&self, state: &String) -> String {
        format!("the value is {state:?}")
    }

    fn state_size(&self, state: &String) -> usize {
        std::mem::size_of::<String>() + state.len()
    }

    /// A key with no appends is a register of strings (an integer and its digits are the
    /// same value).
    fn register_init(&self) -> Option<Value> {
        Some(Value::Str(String::new()))
    }

    fn register_op(
        &self,
        f: Function,
        input: &Value,
        output: Option<&Value>,
    ) -> Option<RegisterOp> {
        let text = |value: &Value| Some(Value::Str(text_of(value)?.into_owned()));
        match f {
            Function::Read => Some(RegisterOp::Read(text(output?)?)),
            Function::Write => Some(RegisterOp::Write(text(input)?)),
            _ => None,
        }
    }
}

/// A list per key that operations append to, starting empty: `append` adds its value at
/// the end, and a read returns the whole list (nil is the empty list), as in Jepsen's
/// list-append workload, one operation at a time (a transaction of several goes to the
/// transactional checker, `super::txn`). No `write` or `cas`. `dsim check --model
/// list-append`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListAppend;

impl Model for ListAppend {
    type State = Vec<Value>;

    fn name(&self) -> &'static str {
        "list-append"
    }

    fn init(&self) -> Vec<Value> {
        Vec::new()
    }

    fn validate(&self, f: Function, _input: &Value, output: Option<&Value>) -> Result<(), String> {
        match (f, output) {
            (Function::Append, _) | (Function::Read, None | Some(Value::Nil | Value::List(_))) => {
                Ok(())
            }
            (Function::Read, Some(read)) => {
                Err(format!("a list-append read returns a list (or nil), not {read}"))
            }
            (Function::Write | Function::Cas, _) => {
                unsupported("list-append", f, " (append to the list instead)")
            }
            _ => unsupported("list-append", f, ""),
        }
    }

    fn step(
        &self,
        state: &Vec<Value>,
        f: Function,
        input: &Value,
        output: Option<&Value>,
    ) -> Option<Vec<Value>> {
        match f {
            Function::Read => match output {
                None => Some(state.clone()),
                Some(Value::Nil) => state.is_empty().then(Vec::new),
                Some(Value::List(read)) => (read == state).then(|| state.clone()),
                Some(_) => None,
            },
            Function::Append => {
                let mut next = state.clone();
                next.push(input.clone());
                Some(next)
            }
            _ => None,
        }
    }

    fn describe_state(&self, state: &Vec<Value>) -> String {
        format!("the list is {}", Value::List(state.clone()))
    }

    fn state_size(&self, state: &Vec<Value>) -> usize {
        std::mem::size_of::<Vec<Value>>() + state.iter().map(value_size).sum::<usize>()
    }
}

/// A set per key, starting empty, as Jepsen's set workload uses one: `add` puts its value
/// in, and a read returns every element (a list or an EDN set in any order, duplicates
/// counting once; nil is the empty set).
#[derive(Clone, Copy, Debug, Default)]
pub struct Set;

/// The elements a set read returned, sorted and each once; `None` for a value that is not
/// a collection.
fn elements(read: &Value) -> Option<BTreeSet<Value>> {
    match read {
        Value::Nil => Some(BTreeSet::new()),
        Value::List(items) => Some(items.iter().cloned().collect()),
        _ => None,
    }
}

impl Model for Set {
    type State = BTreeSet<Value>;

    fn name(&self) -> &'static str {
        "set"
    }

    fn init(&self) -> BTreeSet<Value> {
        BTreeSet::new()
    }

    fn validate(&self, f: Function, _input: &Value, output: Option<&Value>) -> Result<(), String> {
        match (f, output) {
            (Function::Add, _) | (Function::Read, None) => Ok(()),
            (Function::Read, Some(read)) if elements(read).is_some() => Ok(()),
            (Function::Read, Some(read)) => {
                Err(format!("a set read returns its elements as a list or a set, not {read}"))
            }
            _ => unsupported("set", f, " (add to the set, or read it)"),
        }
    }

    fn step(
        &self,
        state: &BTreeSet<Value>,
        f: Function,
        input: &Value,
        output: Option<&Value>,
    ) -> Option<BTreeSet<Value>> {
        match f {
            Function::Read => match output {
                None => Some(state.clone()),
                Some(read) => (elements(read)? == *state).then(|| state.clone()),
            },
            Function::Add => {
                let mut next = state.clone();
                next.insert(input.clone());
                Some(next)
            }
            _ => None,
        }
    }

    fn describe_state(&self, state: &BTreeSet<Value>) -> String {
        let items: Vec<String> = state.iter().map(ToString::to_string).collect();
        format!("the set is #{{{}}}", items.join(" "))
    }

    fn state_size(&self, state: &BTreeSet<Value>) -> usize {
        std::mem::size_of::<BTreeSet<Value>>()
            + state.iter().map(|v| value_size(v) + std::mem::size_of::<usize>()).sum::<usize>()
    }
}

/// A FIFO queue per key, starting empty: `enqueue` puts its value at the back, `dequeue`
/// takes the front one and returns it (nil: the queue was empty). A dequeue whose outcome
/// is unknown (`info`) took the front value, if there was one, or never happened.
#[derive(Clone, Copy, Debug, Default)]
pub struct Queue;

impl Model for Queue {
    type State = VecDeque<Value>;

    fn name(&self) -> &'static str {
        "queue"
    }

    fn init(&self) -> VecDeque<Value> {
        VecDeque::new()
    }

    fn validate(&self, f: Function, _input: &Value, _output: Option<&Value>) -> Result<(), String> {
        match f {
            Function::Enqueue | Function::Dequeue => Ok(()),
            _ => unsupported("queue", f, " (enqueue or dequeue)"),
        }
    }

    fn step(
        &self,
        state: &VecDeque<Value>,
        f: Function,
        input: &Value,
        output: Option<&Value>,
    ) -> Option<VecDeque<Value>> {
        match f {
            Function::Enqueue => {
                let mut next = state.clone();
                next.push_back(input.clone());
                Some(next)
            }
            Function::Dequeue => match (state.front(), output) {
                (None, None | Some(Value::Nil)) => Some(state.clone()),
                (Some(front), Some(taken)) if front != taken => None,
                (Some(_), _) => {
                    let mut next = state.clone();
                    next.pop_front();
                    Some(next)
                }
                (None, Some(_)) => None,
            },
            _ => None,
        }
    }

    fn describe_state(&self, state: &VecDeque<Value>) -> String {
        if state.is_empty() {
            return "the queue is empty".into();
        }
        let items: Vec<String> = state.iter().map(ToString::to_string).collect();
        format!("the queue holds {} (front first)", items.join(" "))
    }

    fn state_size(&self, state: &VecDeque<Value>) -> usize {
        std::mem::size_of::<VecDeque<Value>>() + state.iter().map(value_size).sum::<usize>()
    }
}

/// A counter per key, starting at 0, as Jepsen's counter workload uses one: `add` adds its
/// value (an integer, negative to subtract), a read returns the total.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counter;

impl Model for Counter {
    type State = i64;

    fn name(&self) -> &'static str {
        "counter"
    }

    fn init(&self) -> i64 {
        0
    }

    fn validate(&self, f: Function, input: &Value, output: Option<&Value>) -> Result<(), String> {
        match (f, input, output) {
            (Function::Add, Value::Int(_), _) => Ok(()),
            (Function::Add, other, _) => Err(format!("a counter adds integers, not {other}")),
            (Function::Read, _, None | Some(Value::Int(_))) => Ok(()),
            (Function::Read, _, Some(other)) => {
                Err(format!("a counter read returns an integer, not {other}"))
            }
            _ => unsupported("counter", f, " (add to it, or read it)"),
        }
    }

    fn step(&self, state: &i64, f: Function, input: &Value, output: Option<&Value>) -> Option<i64> {
        match (f, input, output) {
            (Function::Add, Value::Int(delta), _) => state.checked_add(*delta),
            (Function::Read, _, None) => Some(*state),
            (Function::Read, _, Some(Value::Int(read))) => (read == state).then_some(*state),
            _ => None,
        }
    }

    fn describe_state(&self, state: &i64) -> String {
        format!("the counter is {state}")
    }
}

/// A model over the whole map: the state is every key's state at once (a key absent from
/// the map holds the inner model's initial state), and the history is searched as one,
/// not key by key, as Porcupine's `kvNoPartitionModel` does. Far slower than checking keys
/// on their own, to which it must give the same verdict; `dsim check --no-partition`.
#[derive(Clone, Copy, Debug, Default)]
pub struct WholeMap<M>(pub M);

impl<M: Model> WholeMap<M> {
    fn step_key(
        &self,
        state: &BTreeMap<Option<Value>, M::State>,
        key: Option<&Value>,
        f: Function,
        input: &Value,
        output: Option<&Value>,
    ) -> Option<BTreeMap<Option<Value>, M::State>> {
        let init = self.0.init();
        let current = state.get(&key.cloned()).unwrap_or(&init);
        let next = self.0.step(current, f, input, output)?;
        let mut map = state.clone();
        // A key back at its initial state leaves the map, so equal maps are equal states.
        if next == init {
            map.remove(&key.cloned());
        } else {
            map.insert(key.cloned(), next);
        }
        Some(map)
    }
}

impl<M: Model> Model for WholeMap<M> {
    type State = BTreeMap<Option<Value>, M::State>;

    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn init(&self) -> Self::State {
        BTreeMap::new()
    }

    fn validate(&self, f: Function, input: &Value, output: Option<&Value>) -> Result<(), String> {
        self.0.validate(f, input, output)
    }

    fn step(
        &self,
        state: &Self::State,
        f: Function,
        input: &Value,
        output: Option<&Value>,
    ) -> Option<Self::State> {
        self.step_key(state, None, f, input, output)
    }

    fn step_operation(&self, state: &Self::State, op: &Operation) -> Option<Self::State> {
        self.step_key(state, op.key.as_ref(), op.f, &op.input, op.output.as_ref())
    }

    fn per_key(&self) -> bool {
        false
    }

    fn describe_state(&self, state: &Self::State) -> String {
        if state.is_empty() {
            return format!(
                "every key is as it started ({})",
                self.0.describe_state(&self.0.init())
            );
        }
        let keys: Vec<String> = state
            .iter()
            .map(|(key, inner)| {
                let key = key.as_ref().map_or("no key".to_string(), |key| format!("key {key}"));
                format!("{key}: {}", self.0.describe_state(inner))
            })
            .collect();
        format!("{} (other keys as they started)", keys.join("; "))
    }

    fn state_size(&self, state: &Self::State) -> usize {
        state
            .iter()
            .map(|(key, inner)| {
                key.as_ref().map_or(0, value_size)
                    + self.0.state_size(inner)
                    + 3 * std::mem::size_of::<usize>()
            })
            .sum::<usize>()
            + std::mem::size_of::<Self::State>()
    }
}

/// The built-in models by name, for callers that pick one at run time (the CLI's
/// `--model`, a scenario's `checks.linearizability`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    Register,
    CasRegister,
    KeyValue,
    ListAppend,
    Set,
    Queue,
    Counter,
}

/// Runs `$body` with `$model` bound to the model `$kind` names.
macro_rules! with_model {
    ($kind:expr, $model:ident => $body:expr) => {
        match $kind {
            ModelKind::Register => {
                let $model = Register;
                $body
            }
            ModelKind::CasRegister => {
                let $model = CasRegister;
                $body
            }
            ModelKind::KeyValue => {
                let $model = KeyValue;
                $body
            }
            ModelKind::ListAppend => {
                let $model = ListAppend;
                $body
            }
            ModelKind::Set => {
                let $model = Set;
                $body
            }
            ModelKind::Queue => {
                let $model = Queue;
                $body
            }
            ModelKind::Counter => {
                let $model = Counter;
                $body
            }
        }
    };
}

impl ModelKind {
    /// Every model `dsim check --model` takes.
    pub const ALL: [ModelKind; 7] = [
        ModelKind::Register,
        ModelKind::CasRegister,
        ModelKind::KeyValue,
        ModelKind::ListAppend,
        ModelKind::Set,
        ModelKind::Queue,
        ModelKind::Counter,
    ];

    /// The models a scenario's key-value workload can be checked against (its reads,
    /// writes, cas and string appends); the others are for histories from elsewhere.
    pub const SCENARIO: [ModelKind; 3] =
        [ModelKind::Register, ModelKind::CasRegister, ModelKind::KeyValue];

    pub fn name(self) -> &'static str {
        with_model!(self, model => model.name())
    }

    /// Checks a history against this model: see [`super::check`].
    pub fn check(
        self,
        history: &History,
        budget: u64,
    ) -> Result<super::Verdict, super::HistoryError> {
        with_model!(self, model => super::check(history, &model, budget))
    }

    /// Checks a history against this model over the whole map ([`WholeMap`]): one search
    /// over every key at once instead of one per key.
    pub fn check_whole_map(
        self,
        history: &History,
        budget: u64,
    ) -> Result<super::Verdict, super::HistoryError> {
        with_model!(self, model => super::check(history, &WholeMap(model), budget))
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        crate::names::lookup("model", name, &Self::ALL, |kind| kind.name()).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(i: i64) -> Value {
        Value::Int(i)
    }

    #[test]
    fn cas_register_steps() {
        let model = CasRegister;
        let cas = Value::List(vec![int(1), int(2)]);
        assert_eq!(model.step(&int(1), Function::Cas, &cas, Some(&cas)), Some(int(2)));
        assert_eq!(model.step(&int(3), Function::Cas, &cas, Some(&cas)), None);
        assert_eq!(
            model.step(&Value::Nil, Function::Read, &Value::Nil, Some(&Value::Nil)),
            Some(Value::Nil)
        );
        assert_eq!(model.step(&int(1), Function::Read, &Value::Nil, Some(&Value::Nil)), None);
        assert_eq!(model.step(&int(1), Function::Read, &Value::Nil, None), Some(int(1)));
        assert!(model.validate(Function::Cas, &int(1), None).is_err());
        assert!(Register.validate(Function::Cas, &cas, None).is_err());
    }

    #[test]
    fn key_value_steps() {
        let model = KeyValue;
        let x = Value::Str("x".into());
        assert_eq!(model.step(&"a".into(), Function::Append, &x, Some(&x)), Some("ax".into()));
        assert_eq!(model.step(&"a".into(), Function::Write, &x, Some(&x)), Some("x".into()));
        assert_eq!(
            model.step(&"".into(), Function::Read, &Value::Nil, Some(&Value::Nil)),
            Some("".into())
        );
        assert_eq!(model.step(&"a".into(), Function::Read, &Value::Nil, Some(&x)), None);
        assert!(model.validate(Function::Cas, &x, None).is_err());
    }

    #[test]
    fn list_append_steps() {
        let model = ListAppend;
        let one = model.step(&vec![], Function::Append, &int(1), Some(&int(1))).unwrap();
        assert_eq!(one, vec![int(1)]);
        let list = Value::List(vec![int(1)]);
        assert_eq!(model.step(&one, Function::Read, &Value::Nil, Some(&list)), Some(one.clone()));
        assert_eq!(model.step(&one, Function::Read, &Value::Nil, Some(&Value::Nil)), None);
        assert_eq!(
            model.step(&vec![], Function::Read, &Value::Nil, Some(&Value::Nil)),
            Some(vec![])
        );
        assert_eq!(model.step(&vec![], Function::Read, &Value::Nil, Some(&list)), None);
        assert!(model.validate(Function::Read, &Value::Nil, Some(&int(3))).is_err());
        assert!(model.validate(Function::Write, &int(3), None).is_err());
        // A read that saw 1 then 2 after both appends is linearizable; one that saw 2 alone
        // is not.
        let text = "{:process 0, :type :invoke, :f :append, :value 1}\n\
                    {:process 1, :type :invoke, :f :append, :value 2}\n\
                    {:process 0, :type :ok, :f :append, :value 1}\n\
                    {:process 1, :type :ok, :f :append, :value 2}\n\
                    {:process 2, :type :invoke, :f :read, :value nil}\n\
                    {:process 2, :type :ok, :f :read, :value [1 2]}\n";
        let history = crate::check::parse_history(text, crate::check::Format::JepsenEdn).unwrap();
        let verdict = crate::check::check(&history, &model, 10_000).unwrap();
        assert_eq!(verdict, crate::check::Verdict::Linearizable);
        let history = crate::check::parse_history(
            &text.replace("[1 2]", "[2]"),
            crate::check::Format::JepsenEdn,
        )
        .unwrap();
        let verdict = crate::check::check(&history, &model, 10_000).unwrap();
        assert!(matches!(verdict, crate::check::Verdict::NotLinearizable(_)), "{verdict}");
    }

    #[test]
    fn model_names_round_trip() {
        for kind in ModelKind::ALL {
            assert_eq!(kind.name().parse::<ModelKind>(), Ok(kind));
        }
        assert_eq!(
            "cas_register".parse::<ModelKind>(),
            Err("unknown model `cas_register`; did you mean `cas-register`? \
                 valid: register, cas-register, kv, list-append, set, queue, counter"
                .to_owned())
        );
    }
}
