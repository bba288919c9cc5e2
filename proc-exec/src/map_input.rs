//! What a map reads its arguments from, and how that input can fail.
//!
//! The input is user code run on the caller's thread (inside `next`, and
//! inside the `map` call unless the map starts lazily). A panic there, or an
//! `Err` from a [`Fallible`] input, must not lose the items read before it:
//! it ends the input and is yielded at its place as [`InputError`].

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::panic;

/// Where a map reads its arguments: any [`Iterator`] (each item is an
/// argument), or [`Fallible`] (an iterator of `Result`s whose first `Err`
/// ends the input).
///
/// # Examples
///
/// ```
/// use proc_exec::MapInput;
///
/// let mut plain = [1, 2].into_iter();
/// assert_eq!(plain.next_arg(), Some(Ok(1)));
/// ```
pub trait MapInput {
    /// The argument each item is.
    type Arg;

    /// The next argument; `Some(Err(message))` when the input failed here,
    /// `None` at its end.
    fn next_arg(&mut self) -> Option<Result<Self::Arg, String>>;

    /// Bounds on the items left, as [`Iterator::size_hint`] (a failing
    /// item counts as one). Default: nothing known.
    ///
    /// A map uses it to size its chunks and to report its own
    /// [`size_hint`](Iterator::size_hint).
    fn args_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

impl<I: Iterator> MapInput for I {
    type Arg = I::Item;

    fn next_arg(&mut self) -> Option<Result<I::Item, String>> {
        self.next().map(Ok)
    }

    fn args_hint(&self) -> (usize, Option<usize>) {
        self.size_hint()
    }
}

/// An iterator of `Result`s read as a map's input: its first `Err` ends the
/// input and is yielded at its place as [`InputError::Failed`] with the
/// error's `Display` text (Python's `imap` over a generator that raises).
///
/// Built by [`try_map_with`](crate::ProcessPoolExecutor::try_map_with) and
/// [`try_map_unordered`](crate::ProcessPoolExecutor::try_map_unordered).
///
/// # Examples
///
/// ```
/// use proc_exec::{Fallible, MapInput};
///
/// let mut input = Fallible::new([Ok(1), Err("bad line"), Ok(3)].into_iter());
/// assert_eq!(input.next_arg(), Some(Ok(1)));
/// assert_eq!(input.next_arg(), Some(Err("bad line".to_owned())));
/// ```
#[derive(Debug, Clone)]
pub struct Fallible<I> {
    inner: I,
}

impl<I> Fallible<I> {
    /// Reads `inner`'s `Ok` items as arguments; its first `Err` fails the
    /// input.
    pub fn new(inner: I) -> Self {
        Self { inner }
    }
}

impl<I, A, X> MapInput for Fallible<I>
where
    I: Iterator<Item = Result<A, X>>,
    X: fmt::Display,
{
    type Arg = A;

    fn next_arg(&mut self) -> Option<Result<A, String>> {
        self.inner
            .next()
            .map(|item| item.map_err(|e| e.to_string()))
    }

    fn args_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// Why a map's input ended early. Every item read before it is yielded
/// first (in input order for `map`); nothing after it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputError {
    /// The input iterator panicked while reading item `index` (counted from
    /// 0); `message` is the panic's.
    Panicked {
        /// The place of the item that could not be read.
        index: usize,
        /// The panic's message.
        message: String,
    },
    /// A [`Fallible`] input yielded `Err` as item `index` (counted from 0);
    /// `message` is that error's `Display` text.
    Failed {
        /// The place of the failing item.
        index: usize,
        /// The error's text.
        message: String,
    },
}

impl InputError {
    /// The place of the item that failed, counted from 0.
    pub fn index(&self) -> usize {
        match self {
            Self::Panicked { index, .. } | Self::Failed { index, .. } => *index,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Panicked { index, message } => {
                write!(f, "the map's input panicked at item {index}: {message}")
            }
            Self::Failed { index, message } => {
                write!(f, "the map's input failed at item {index}: {message}")
            }
        }
    }
}

impl std::error::Error for InputError {}

/// A map's input as the feeder reads it: counts the items, and turns a
/// panic or an `Err` into the [`InputError`] that ends it.
pub(crate) struct Reader<I> {
    /// `None` once the input is spent, failed, or no more may be read.
    input: Option<I>,
    read: usize,
    failure: Option<InputError>,
}

impl<I: MapInput> Reader<I> {
    pub(crate) fn new(input: I) -> Self {
        Self {
            input: Some(input),
            read: 0,
            failure: None,
        }
    }

    /// The next argument; `None` at the end of the input, after a failure,
    /// or once [`stop`](Self::stop)ped.
    pub(crate) fn next(&mut self) -> Option<I::Arg> {
        let input = self.input.as_mut()?;
        // The input is dropped below whatever state the panic left it in.
        let failure = match catch_unwind(AssertUnwindSafe(|| input.next_arg())) {
            Ok(Some(Ok(arg))) => {
                self.read += 1;
                return Some(arg);
            }
            Ok(None) => None,
            Ok(Some(Err(message))) => Some(InputError::Failed {
                index: self.read,
                message,
            }),
            Err(payload) => Some(InputError::Panicked {
                index: self.read,
                message: panic::message(&*payload),
            }),
        };
        if failure.is_some() {
            self.failure = failure;
            // An input that just panicked may panic again when dropped.
            let input = self.input.take();
            let _ = catch_unwind(AssertUnwindSafe(move || drop(input)));
        }
        self.stop();
        None
    }

    /// Bounds on the items still to come out of this input: its arguments
    /// left, and one for a failure not yet taken.
    pub(crate) fn size_hint(&self) -> (usize, Option<usize>) {
        let failure = usize::from(self.failure.is_some());
        let (lower, upper) = self.input.as_ref().map_or((0, Some(0)), I::args_hint);
        (
            lower.saturating_add(failure),
            upper.and_then(|n| n.checked_add(failure)),
        )
    }

    /// Reads no more (the input is dropped).
    pub(crate) fn stop(&mut self) {
        self.input = None;
    }

    /// How the input failed, once (then `None`).
    pub(crate) fn take_failure(&mut self) -> Option<InputError> {
        self.failure.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_ends_the_input_at_its_place_and_the_items_before_it_stay() {
        let input = (0..10).inspect(|&n| assert!(n != 2, "no two"));
        let mut reader = Reader::new(input);
        assert_eq!(reader.next(), Some(0));
        assert_eq!(reader.next(), Some(1));
        assert_eq!(reader.next(), None);
        assert_eq!(reader.next(), None);
        match reader.take_failure() {
            Some(InputError::Panicked { index: 2, message }) => {
                assert!(message.contains("no two"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(reader.take_failure(), None);
    }

    #[test]
    fn an_err_ends_a_fallible_input_and_nothing_after_it_is_read() {
        let mut reader = Reader::new(Fallible::new([Ok(1), Err("bad"), Ok(3)].into_iter()));
        assert_eq!(reader.next(), Some(1));
        assert_eq!(reader.next(), None);
        assert_eq!(
            reader.take_failure(),
            Some(InputError::Failed {
                index: 1,
                message: "bad".to_owned()
            })
        );
    }

    #[test]
    fn the_end_of_the_input_is_no_failure() {
        let mut reader = Reader::new([7].into_iter());
        assert_eq!(reader.next(), Some(7));
        assert_eq!(reader.next(), None);
        assert_eq!(reader.take_failure(), None);
    }
}
