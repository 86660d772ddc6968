//! Which scenario starts next: file order, except that two scenarios sharing a
//! named lock (`locks:`) never run at the same time. A scenario waiting for a lock
//! takes no `--jobs` slot: the scenarios after it that need no held lock go first.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

pub(crate) struct Scheduler<'a> {
    /// Each scenario's locks, without repeats.
    locks: Vec<Vec<&'a str>>,
    /// Not started and needing no lock, in order.
    free: VecDeque<usize>,
    /// Not started and needing a lock, in order.
    locked: BTreeSet<usize>,
    /// Locks held by running scenarios.
    held: HashSet<&'a str>,
    /// For each lock, how many scenarios not yet started need it.
    waiting: HashMap<&'a str, usize>,
}

impl<'a> Scheduler<'a> {
    /// Each scenario's `locks:`, in run order.
    pub(crate) fn new(scenarios: impl IntoIterator<Item = &'a [String]>) -> Self {
        let scenarios = scenarios.into_iter();
        let mut s = Scheduler {
            locks: Vec::with_capacity(scenarios.size_hint().0),
            free: VecDeque::new(),
            locked: BTreeSet::new(),
            held: HashSet::new(),
            waiting: HashMap::new(),
        };
        for (i, locks) in scenarios.enumerate() {
            let mut names: Vec<&str> = locks.iter().map(String::as_str).collect();
            names.sort_unstable();
            names.dedup();
            if names.is_empty() {
                s.free.push_back(i);
            } else {
                s.locked.insert(i);
                for n in &names {
                    *s.waiting.entry(n).or_default() += 1;
                }
            }
            s.locks.push(names);
        }
        s
    }

    /// The next scenario to start now, its locks taken; `None` when every scenario
    /// left waits for a lock (or none is left).
    pub(crate) fn next(&mut self) -> Option<usize> {
        let first_free = self.free.front().copied();
        // Locks wanted by an earlier scenario that must wait are kept for it: a
        // later one may not take them first, so that no scenario waits forever.
        let mut kept: HashSet<&str> = HashSet::new();
        let wanted = self.waiting.values().filter(|n| **n > 0).count();
        let mut pick = None;
        for &i in &self.locked {
            if first_free.is_some_and(|f| f < i) {
                break;
            }
            let names = &self.locks[i];
            if names
                .iter()
                .all(|n| !self.held.contains(n) && !kept.contains(n))
            {
                pick = Some(i);
                break;
            }
            kept.extend(names.iter().copied());
            if kept.len() >= wanted {
                break;
            }
        }
        match pick {
            Some(i) => {
                self.locked.remove(&i);
                for n in &self.locks[i] {
                    self.held.insert(n);
                    if let Some(w) = self.waiting.get_mut(n) {
                        *w -= 1;
                    }
                }
                Some(i)
            }
            None => self.free.pop_front(),
        }
    }

    /// Scenario `i` finished: its locks are free again.
    pub(crate) fn done(&mut self, i: usize) {
        if let Some(names) = self.locks.get(i) {
            for n in names {
                self.held.remove(n);
            }
        }
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.free.is_empty() && self.locked.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite(locks: &[&[&str]]) -> Vec<crate::scenario::Scenario> {
        let text: String = locks
            .iter()
            .enumerate()
            .map(|(i, l)| {
                format!(
                    "  - name: s{i}\n    locks: [{}]\n    steps:\n      - request: {{ url: /x }}\n",
                    l.join(", ")
                )
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, format!("scenarios:\n{text}")).unwrap();
        let (scenarios, _) = crate::scenario::load::load_suite(&[path], &[]).unwrap();
        scenarios
    }

    /// Run the schedule with `jobs` slots, finishing the oldest running scenario
    /// each time; returns the batches of scenarios running together.
    fn simulate(locks: &[&[&str]], jobs: usize) -> Vec<Vec<usize>> {
        let scenarios = suite(locks);
        let mut s = Scheduler::new(scenarios.iter().map(|s| s.locks.as_slice()));
        let mut running: VecDeque<usize> = VecDeque::new();
        let mut seen = Vec::new();
        while !s.is_empty() || !running.is_empty() {
            while running.len() < jobs {
                match s.next() {
                    Some(i) => running.push_back(i),
                    None => break,
                }
            }
            let mut now: Vec<usize> = running.iter().copied().collect();
            now.sort_unstable();
            seen.push(now);
            let Some(i) = running.pop_front() else {
                panic!("nothing runs and scenarios are left: a deadlock");
            };
            s.done(i);
        }
        seen
    }

    #[test]
    fn scenarios_sharing_a_lock_never_run_together_and_all_run_once() {
        let cases: &[(&[&[&str]], usize)] = &[
            (&[&["db"], &["db"], &["db"], &[]], 4),
            (&[&["a"], &["b"], &["a", "b"], &["b"], &[], &["a"]], 3),
            (&[&["a", "a"], &[], &[], &["a"], &[], &[]], 2),
            (&[&["x"] as &[&str]; 10], 8),
            (&[&[], &[], &[]], 1),
        ];
        for (locks, jobs) in cases {
            let batches = simulate(locks, *jobs);
            for batch in &batches {
                assert!(batch.len() <= *jobs, "{batch:?} over {jobs} jobs");
                for (p, &x) in batch.iter().enumerate() {
                    for &y in &batch[p + 1..] {
                        let shared = locks[x].iter().any(|l| locks[y].contains(l));
                        assert!(
                            !shared,
                            "{x} and {y} share a lock yet ran together: {batches:?}"
                        );
                    }
                }
            }
            let mut started: Vec<usize> = batches.iter().flatten().copied().collect();
            started.sort_unstable();
            started.dedup();
            assert_eq!(started, (0..locks.len()).collect::<Vec<_>>(), "{locks:?}");
        }
    }

    #[test]
    fn a_waiting_scenario_takes_no_slot_from_the_others() {
        // s0 holds `db`; s1 waits for it; s2 and s3 need no lock and start at once.
        let batches = simulate(&[&["db"], &["db"], &[], &[]], 3);
        assert_eq!(batches[0], vec![0, 2, 3]);
    }

    #[test]
    fn a_scenario_needing_two_locks_is_not_overtaken_forever() {
        // s1 needs a and b; s2 (a) and s3 (b) come after it and must not take its
        // locks while it waits for s0 to let `a` go.
        let batches = simulate(&[&["a"], &["a", "b"], &["a"], &["b"]], 4);
        assert_eq!(batches[0], vec![0]);
        assert_eq!(batches[1], vec![1]);
    }
}
