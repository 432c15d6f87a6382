//! The invoker's container pool, with OpenWhisk's semantics: warm instances are kept per
//! action version and reused one activation at a time; a cold start needs the action's
//! memory out of the pool's user memory, evicting idle instances of other actions (least
//! recently used first) when it runs out; when nothing can be evicted the activation
//! waits in FIFO order (that wait is its `waitTime`). Idle instances are dropped after
//! the keep-alive.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::container::Instance;

/// A warm instance of one action version.
pub struct Container {
    /// The action version it runs (`ns/name@version`).
    pub key: String,
    /// Memory it holds out of the pool, MB.
    pub memory_mb: u64,
    /// The instance.
    pub instance: Instance,
}

/// What an activation gets from the pool.
pub enum Grant {
    /// An idle instance of its action.
    Warm(Box<Container>),
    /// Memory for a new instance: a cold start. Give it back with
    /// [`ContainerPool::cancel_cold`] if instantiation fails.
    Cold,
}

struct Idle {
    container: Container,
    since: Instant,
}

struct Waiter {
    key: String,
    memory_mb: u64,
    tx: oneshot::Sender<Grant>,
}

#[derive(Default)]
struct State {
    free_mb: u64,
    idle: HashMap<String, Vec<Idle>>,
    waiters: VecDeque<Waiter>,
}

/// Snapshot of the pool, for `/limits`-style introspection and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Memory not held by any instance, MB.
    pub free_mb: u64,
    /// Idle warm instances.
    pub idle: usize,
    /// Activations waiting for memory.
    pub waiting: usize,
}

/// The pool.
pub struct ContainerPool {
    state: Mutex<State>,
    keep_alive: Duration,
}

impl ContainerPool {
    /// A pool of `user_memory_mb` whose idle instances live `keep_alive`.
    pub fn new(user_memory_mb: u64, keep_alive: Duration) -> ContainerPool {
        ContainerPool {
            state: Mutex::new(State {
                free_mb: user_memory_mb,
                ..State::default()
            }),
            keep_alive,
        }
    }

    /// A warm instance of `key`, or memory for a cold start, waiting if need be.
    pub async fn acquire(&self, key: &str, memory_mb: u64) -> Grant {
        let mut evicted = Vec::new();
        let rx = {
            let mut state = self.state.lock().expect("pool poisoned");
            if let Some(idle) = state.idle.get_mut(key).and_then(Vec::pop) {
                return Grant::Warm(Box::new(idle.container));
            }
            if state.waiters.is_empty() && state.reserve(memory_mb, key, &mut evicted) {
                drop(state);
                drop(evicted);
                return Grant::Cold;
            }
            let (tx, rx) = oneshot::channel();
            state.waiters.push_back(Waiter {
                key: key.to_owned(),
                memory_mb,
                tx,
            });
            rx
        };
        drop(evicted);
        // The sender is only dropped with the pool.
        rx.await.unwrap_or(Grant::Cold)
    }

    /// Return a container after an activation; `reusable` is false after a trap.
    pub fn release(&self, container: Container, reusable: bool) {
        let mut dropped = Vec::new();
        {
            let mut state = self.state.lock().expect("pool poisoned");
            let reusable = reusable && !self.keep_alive.is_zero();
            let mut container = Some(container);
            if reusable {
                let key = &container.as_ref().expect("set").key;
                if let Some(i) = state.waiters.iter().position(|w| &w.key == key) {
                    let waiter = state.waiters.remove(i).expect("index in range");
                    match waiter
                        .tx
                        .send(Grant::Warm(Box::new(container.take().expect("set"))))
                    {
                        Ok(()) => {}
                        Err(Grant::Warm(back)) => container = Some(*back),
                        Err(Grant::Cold) => {}
                    }
                }
            }
            if let Some(c) = container {
                if reusable && state.waiters.is_empty() {
                    state.idle.entry(c.key.clone()).or_default().push(Idle {
                        container: c,
                        since: Instant::now(),
                    });
                } else {
                    state.free_mb += c.memory_mb;
                    dropped.push(c);
                }
            }
            state.grant_waiting(&mut dropped);
        }
        // Tearing instances down (stores, scratch directories) happens off the lock.
        drop(dropped);
    }

    /// Give back the memory of a cold start whose instantiation failed.
    pub fn cancel_cold(&self, memory_mb: u64) {
        let mut dropped = Vec::new();
        let mut state = self.state.lock().expect("pool poisoned");
        state.free_mb += memory_mb;
        state.grant_waiting(&mut dropped);
        drop(state);
        drop(dropped);
    }

    /// Drop idle instances older than the keep-alive; returns how many.
    pub fn reap(&self) -> usize {
        let mut dropped = Vec::new();
        let mut state = self.state.lock().expect("pool poisoned");
        let now = Instant::now();
        let keep_alive = self.keep_alive;
        let mut freed = 0;
        for list in state.idle.values_mut() {
            let (old, young): (Vec<Idle>, Vec<Idle>) = std::mem::take(list)
                .into_iter()
                .partition(|i| now.duration_since(i.since) >= keep_alive);
            *list = young;
            for i in old {
                freed += i.container.memory_mb;
                dropped.push(i.container);
            }
        }
        state.idle.retain(|_, list| !list.is_empty());
        state.free_mb += freed;
        state.grant_waiting(&mut dropped);
        drop(state);
        let n = dropped.len();
        drop(dropped);
        n
    }

    /// Drop every idle instance of `key` (the action was updated or deleted).
    pub fn evict(&self, key: &str) {
        let mut state = self.state.lock().expect("pool poisoned");
        let dropped: Vec<Idle> = state.idle.remove(key).unwrap_or_default();
        state.free_mb += dropped.iter().map(|i| i.container.memory_mb).sum::<u64>();
        let mut more = Vec::new();
        state.grant_waiting(&mut more);
        drop(state);
        drop(dropped);
        drop(more);
    }

    /// Current figures.
    pub fn stats(&self) -> PoolStats {
        let state = self.state.lock().expect("pool poisoned");
        PoolStats {
            free_mb: state.free_mb,
            idle: state.idle.values().map(Vec::len).sum(),
            waiting: state.waiters.len(),
        }
    }
}

impl State {
    /// Take `memory_mb` from free memory, evicting idle instances of other actions (least
    /// recently used first) into `evicted` if needed. False if it cannot be done.
    fn reserve(&mut self, memory_mb: u64, key: &str, evicted: &mut Vec<Container>) -> bool {
        while self.free_mb < memory_mb {
            let oldest = self
                .idle
                .iter()
                .filter(|(k, list)| k.as_str() != key && !list.is_empty())
                .map(|(k, list)| (list[0].since, k.clone()))
                .min();
            let Some((_, k)) = oldest else {
                return false;
            };
            let list = self.idle.get_mut(&k).expect("key present");
            let idle = list.remove(0);
            if list.is_empty() {
                self.idle.remove(&k);
            }
            self.free_mb += idle.container.memory_mb;
            evicted.push(idle.container);
        }
        self.free_mb -= memory_mb;
        true
    }

    /// Serve waiters in order while warm instances or memory allow.
    fn grant_waiting(&mut self, dropped: &mut Vec<Container>) {
        while let Some(front) = self.waiters.front() {
            let key = front.key.clone();
            let memory_mb = front.memory_mb;
            let grant = if let Some(idle) = self.idle.get_mut(&key).and_then(Vec::pop) {
                Grant::Warm(Box::new(idle.container))
            } else if self.reserve(memory_mb, &key, dropped) {
                Grant::Cold
            } else {
                break;
            };
            let waiter = self.waiters.pop_front().expect("front exists");
            match waiter.tx.send(grant) {
                Ok(()) => {}
                Err(Grant::Warm(c)) => {
                    self.free_mb += c.memory_mb;
                    dropped.push(*c);
                }
                Err(Grant::Cold) => self.free_mb += memory_mb,
            }
        }
    }
}
