//! Waiting requests, in the order the fairness policy serves them: by priority class,
//! then by arrival. Side indexes keep the cheapest waiting cost and the nearest
//! deadline at hand without a scan.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::rc::Rc;

use super::Priority;
use crate::time::Instant;

/// A waiter's place in line: its class first, then its arrival number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Key {
    pub(crate) priority: Priority,
    pub(crate) seq: u64,
}

#[derive(Debug)]
pub(crate) struct Waiting {
    pub(crate) tokens: u64,
    pub(crate) model: Option<Rc<str>>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) group: Option<Rc<str>>,
}

#[derive(Debug, Default)]
pub(crate) struct Queue {
    order: BTreeMap<Key, Waiting>,
    costs: BTreeMap<u64, usize>,
    deadlines: BTreeSet<(Instant, Key)>,
    /// Per class: how many wait, and the tokens they ask for.
    classes: BTreeMap<Priority, (u64, u64)>,
}

impl Queue {
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub(crate) fn push(&mut self, key: Key, w: Waiting) {
        *self.costs.entry(w.tokens).or_default() += 1;
        let class = self.classes.entry(key.priority).or_default();
        class.0 += 1;
        class.1 += w.tokens;
        if let Some(d) = w.deadline {
            self.deadlines.insert((d, key));
        }
        self.order.insert(key, w);
    }

    pub(crate) fn remove(&mut self, key: Key) -> Option<Waiting> {
        let w = self.order.remove(&key)?;
        if let Some(class) = self.classes.get_mut(&key.priority) {
            class.0 -= 1;
            class.1 -= w.tokens;
        }
        if let Some(n) = self.costs.get_mut(&w.tokens) {
            *n -= 1;
            if *n == 0 {
                self.costs.remove(&w.tokens);
            }
        }
        if let Some(d) = w.deadline {
            self.deadlines.remove(&(d, key));
        }
        Some(w)
    }

    pub(crate) fn head(&self) -> Option<(Key, &Waiting)> {
        self.order.first_key_value().map(|(k, w)| (*k, w))
    }

    /// The first waiter after `key` in serving order.
    pub(crate) fn after(&self, key: Key) -> Option<(Key, &Waiting)> {
        self.order.range((Bound::Excluded(key), Bound::Unbounded)).next().map(|(k, w)| (*k, w))
    }

    /// The requests and tokens waiting in `priority`'s class or a more urgent one:
    /// all that a newcomer of that class is served after.
    pub(crate) fn ahead_of(&self, priority: Priority) -> (u64, u64) {
        self.classes.range(..=priority).fold((0, 0), |(n, t), (_, c)| (n + c.0, t + c.1))
    }

    /// The requests and tokens waiting, in every class.
    pub(crate) fn totals(&self) -> (u64, u64) {
        self.classes.values().fold((0, 0), |(n, t), c| (n + c.0, t + c.1))
    }

    /// The fewest tokens any waiter asks for.
    pub(crate) fn min_tokens(&self) -> Option<u64> {
        self.costs.first_key_value().map(|(c, _)| *c)
    }

    /// The waiter whose deadline comes first, and that deadline.
    pub(crate) fn next_deadline(&self) -> Option<(Instant, Key)> {
        self.deadlines.first().copied()
    }

    /// Every waiter, in serving order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Key, &Waiting)> {
        self.order.iter()
    }
}
