//! `imap` and `imap_unordered` report the items left, exactly when their
//! input does, so a progress bar (indicatif's `.progress()`) can show them.

mod common;

use common::{clean, panics_on_zero, pool, square, watchdog};

/// What a progress bar asks of an iterator.
fn exact_len(results: &impl ExactSizeIterator) -> usize {
    results.len()
}

#[test]
fn imap_reports_the_items_left_exactly_when_its_input_does() {
    let clean = clean();
    let pool = pool(2);
    watchdog("size_hint of imap", || {
        // (A `Range<u64>` is no `ExactSizeIterator`; a `Vec`'s iterator is.)
        let items: Vec<u64> = (0..100).collect();
        let mut out = pool.imap(square, items.clone(), 7).unwrap();
        assert_eq!(exact_len(&out), 100);
        for left in (0..100).rev() {
            assert!(out.next().unwrap().is_ok());
            assert_eq!(out.len(), left);
        }
        assert_eq!(out.next(), None);

        let mut out = pool.imap_unordered(square, items, 7).unwrap();
        assert_eq!(exact_len(&out), 100);
        out.nth(49).unwrap().unwrap();
        assert_eq!(out.len(), 50);
        assert_eq!(out.count(), 50);

        // Failed items are yielded in their place: the count stays exact.
        let mut out = pool.imap(panics_on_zero, vec![4, 0, 5], 1).unwrap();
        assert_eq!(out.len(), 3);
        assert!(out.next().unwrap().is_ok());
        assert!(out.next().unwrap().is_err());
        assert_eq!(out.len(), 1);
        assert_eq!(out.count(), 1);

        let lines = ["1", "2"].map(str::parse::<u64>);
        let out = pool.try_imap(square, lines, 1).unwrap();
        assert_eq!(exact_len(&out), 2);
    });
    drop(pool);
    clean.check();
}
