//! [`Padded`]: a value alone on its cache lines.

use core::ops::Deref;

/// Keeps a value on cache lines of its own, so that writes to it do not
/// slow down threads reading its neighbours (false sharing). Two lines (128
/// bytes): some CPUs fetch lines in adjacent pairs.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
