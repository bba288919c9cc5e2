//! The error convention: a wrapper shows the wrapped error's text in its
//! `Display` or returns it from `source()`, never both, so that a report
//! walking the chain (anyhow's `{:?}`, say) prints each text once.

use std::error::Error;

/// Panics if any link of `error`'s chain repeats the text of the link it
/// names as its source; returns the chain's texts, outermost first.
pub fn assert_reads_once(error: &dyn Error) -> Vec<String> {
    let mut texts = vec![error.to_string()];
    let mut link = error;
    while let Some(source) = link.source() {
        let (outer, inner) = (link.to_string(), source.to_string());
        assert!(
            !outer.contains(&inner),
            "{outer:?} shows its source's text {inner:?} and returns it from source() too"
        );
        texts.push(inner);
        link = source;
    }
    texts
}
