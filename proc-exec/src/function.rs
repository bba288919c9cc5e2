//! [`Function`]: a plain function together with how it crosses to a worker.

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::call;
use crate::codec::{self, RaisedDecoder};
use crate::wire::CallRef;

/// A function the workers can run, taking `A`, returning `R`, and failing
/// with its own error type `E` (`Infallible` for a plain function).
///
/// [`submit`](crate::ProcessPoolExecutor::submit) and the `map` methods make
/// one from a `fn` themselves. Make one directly for
/// [`submit_function`](crate::ProcessPoolExecutor::submit_function) and
/// [`submit_chunk`](crate::ProcessPoolExecutor::submit_chunk), or to call a
/// two-parameter function with pairs ([`Function::spread`], Python's
/// `starmap`). It is two code addresses and is `Copy`.
///
/// # Examples
///
/// ```
/// use proc_exec::{Function, ProcessPoolExecutor, TaskOptions};
///
/// fn add(a: u32, b: u32) -> u32 {
///     a + b
/// }
///
/// let pool = ProcessPoolExecutor::builder().max_workers(1).build().unwrap();
/// let add = Function::spread(add);
/// let sum = pool.submit_function(add, (2, 3), TaskOptions::new()).unwrap();
/// assert_eq!(sum.into_result(), Ok(5));
/// ```
pub struct Function<A, R, E = Infallible> {
    pub(crate) call: CallRef,
    pub(crate) raised: RaisedDecoder<E>,
    _types: PhantomData<fn(A) -> (R, E)>,
}

impl<A, R> Function<A, R>
where
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned,
{
    /// A plain function: its return value is the result.
    pub fn new(f: fn(A) -> R) -> Self {
        Self::from_parts(call::plain(f), codec::no_raised)
    }
}

impl<A, R, E> Function<A, R, E>
where
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned,
    E: Serialize + DeserializeOwned,
{
    /// A function whose `Err(e)` is the task's error: it crosses back and
    /// fails the task with [`TaskError::Raised`](crate::TaskError::Raised).
    pub fn fallible(f: fn(A) -> Result<R, E>) -> Self {
        Self::from_parts(call::fallible(f), codec::decode_raised::<E>)
    }
}

impl<A, B, R> Function<(A, B), R>
where
    A: Serialize + DeserializeOwned,
    B: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned,
{
    /// A two-parameter function, called with each `(A, B)` argument spread
    /// into its parameters (Python's `starmap`). For more parameters, take a
    /// tuple in a one-parameter function.
    pub fn spread(f: fn(A, B) -> R) -> Self {
        Self::from_parts(call::spread(f), codec::no_raised)
    }
}

impl<A, R, E> Function<A, R, E> {
    fn from_parts(call: CallRef, raised: RaisedDecoder<E>) -> Self {
        Self {
            call,
            raised,
            _types: PhantomData,
        }
    }
}

impl<A, R, E> Clone for Function<A, R, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A, R, E> Copy for Function<A, R, E> {}

impl<A, R, E> fmt::Debug for Function<A, R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Function")
            .field("call", &self.call)
            .finish()
    }
}
