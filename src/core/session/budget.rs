//! The memory budget of the blobs a recorder has produced and not yet delivered.

use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

/// Bytes of blobs produced but not yet delivered, for one recorder. A pipeline that gets
/// ahead of a slow `dataavailable` handler waits here, which in turn slows the sources down:
/// memory stays bounded and nothing is dropped.
pub struct Budget {
    limit: usize,
    used: Mutex<usize>,
    freed: Condvar,
}

impl Budget {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Budget { limit, used: Mutex::new(0), freed: Condvar::new() })
    }

    /// Waits until `n` more bytes fit (a blob larger than the limit waits for an empty budget).
    pub fn acquire(self: &Arc<Self>, n: usize) -> BudgetGuard {
        let mut used = self.used.lock();
        while *used > 0 && *used + n > self.limit {
            self.freed.wait(&mut used);
        }
        *used += n;
        BudgetGuard { budget: self.clone(), n }
    }

    /// Takes `n` bytes if they fit now (or the budget is empty); never waits. For producers
    /// that cannot be slowed down (a browser's recorder), whose policy on `None` is their own.
    // Its one user is the binding (`python/browser.rs`).
    #[cfg_attr(not(feature = "python"), allow(dead_code))]
    pub fn try_acquire(self: &Arc<Self>, n: usize) -> Option<BudgetGuard> {
        let mut used = self.used.lock();
        if *used > 0 && *used + n > self.limit {
            return None;
        }
        *used += n;
        Some(BudgetGuard { budget: self.clone(), n })
    }

    pub fn used(&self) -> usize {
        *self.used.lock()
    }
}

/// Gives its bytes back to the budget when the blob it travels with is dropped.
pub struct BudgetGuard {
    budget: Arc<Budget>,
    n: usize,
}

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        *self.budget.used.lock() -= self.n;
        self.budget.freed.notify_all();
    }
}

impl std::fmt::Debug for BudgetGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BudgetGuard({} bytes)", self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_waits_for_room_and_lets_an_oversized_blob_through_alone() {
        let budget = Budget::new(100);
        let a = budget.acquire(60);
        assert_eq!(budget.used(), 60);
        let waiter = {
            let budget = budget.clone();
            std::thread::spawn(move || budget.acquire(50).n)
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!waiter.is_finished(), "60 + 50 bytes must not fit in 100");
        drop(a);
        assert_eq!(waiter.join().unwrap(), 50);
        assert_eq!(budget.used(), 0);
        let big = budget.acquire(1000);
        assert_eq!(budget.used(), 1000);
        drop(big);
    }

    #[test]
    fn try_acquire_refuses_what_does_not_fit_without_waiting() {
        let budget = Budget::new(100);
        let a = budget.try_acquire(60).expect("60 of 100 fit");
        assert!(budget.try_acquire(50).is_none());
        assert_eq!(budget.used(), 60);
        let b = budget.try_acquire(40).expect("60 + 40 fit exactly");
        drop((a, b));
        assert!(budget.try_acquire(1000).is_some(), "an empty budget lets anything through");
        assert_eq!(budget.used(), 0);
    }
}
