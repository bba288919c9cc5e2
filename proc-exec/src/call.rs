//! How a function crosses into a worker: as two code addresses.
//!
//! Workers are forked from this binary, so a `fn(A) -> R` pointer taken in
//! the parent is valid in the child. A `Run` frame carries that pointer and a
//! *trampoline*: a function monomorphized for `(A, R)` (or `(A, R, E)`) that
//! decodes the arguments, calls the function for each one, and encodes one
//! outcome per argument. Both addresses travel relative to [`anchor`], a
//! function of this crate, so they would also hold in a re-executed binary
//! whose load address differs.
//!
//! The worker trusts these addresses because the frames come only from its
//! own parent over pipes nobody else holds (see `WIRE.md`).
#![allow(unsafe_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::wire::{CallRef, ItemError, OutcomeTag, OutcomeWriter};

/// The signature every trampoline has: the function's address, the encoded
/// arguments, and where to write one outcome per argument (the writer
/// enforces the frame size limit).
///
/// The arguments are a postcard varint count followed by that many postcard
/// values: the count is needed because a zero-sized argument such as `()`
/// takes no bytes at all.
pub(crate) type Trampoline = fn(function: usize, args: &[u8], out: &mut OutcomeWriter<'_>);

/// The fixed point addresses are measured from.
#[inline(never)]
fn anchor() {}

fn offset(address: usize) -> i64 {
    (address as i64).wrapping_sub(anchor as fn() as usize as i64)
}

fn address(offset: i64) -> usize {
    (anchor as fn() as usize as i64).wrapping_add(offset) as usize
}

/// The call head for `function` run through `trampoline`.
pub(crate) fn call_ref(function: usize, trampoline: Trampoline) -> CallRef {
    CallRef {
        function: offset(function),
        trampoline: offset(trampoline as usize),
    }
}

/// True if `call` calls the function at `function` (whatever its trampoline).
#[cfg_attr(not(exec_loom), allow(dead_code))]
pub(crate) fn names(call: CallRef, function: usize) -> bool {
    call.function == offset(function)
}

/// Runs a call received in a `Run` or `Init` frame.
///
/// # Safety
///
/// - `call` must have been made by [`call_ref`] in the process this one was
///   forked from (or in the same binary), with a `function` whose type is the
///   one `trampoline` was monomorphized for.
pub(crate) unsafe fn run(call: CallRef, args: &[u8], out: &mut OutcomeWriter<'_>) {
    let trampoline = address(call.trampoline);
    // SAFETY: by the caller's contract, `trampoline` is the address of a function of type `Trampoline` in this binary, and fn pointers and `usize` have the same size.
    let trampoline = unsafe { std::mem::transmute::<usize, Trampoline>(trampoline) };
    trampoline(address(call.function), args, out);
}

/// How a function's return value becomes an outcome: `R` is returned as is;
/// `Result<R, E>` (through [`Fallible`]) splits into returned and raised.
pub(crate) trait Output {
    /// Writes this value's outcome.
    fn write(self, out: &mut OutcomeWriter<'_>);
}

/// Marks a function whose `Err` is the task's own error.
pub(crate) struct Fallible<R, E>(pub(crate) Result<R, E>);

/// Marks a function whose whole return value is the result.
pub(crate) struct Plain<R>(pub(crate) R);

impl<R: Serialize> Output for Plain<R> {
    fn write(self, out: &mut OutcomeWriter<'_>) {
        write_value(out, OutcomeTag::Returned, &self.0);
    }
}

impl<R: Serialize, E: Serialize> Output for Fallible<R, E> {
    fn write(self, out: &mut OutcomeWriter<'_>) {
        match self.0 {
            Ok(value) => write_value(out, OutcomeTag::Returned, &value),
            Err(error) => write_value(out, OutcomeTag::Raised, &error),
        }
    }
}

fn write_value<T: Serialize>(out: &mut OutcomeWriter<'_>, tag: OutcomeTag, value: &T) {
    match out.item(tag, |buf| crate::codec::encode_into(value, buf)) {
        Ok(()) => {}
        Err(ItemError::TooLarge { len, max }) => {
            let text =
                format!("the encoded result is {len} bytes, above the {max}-byte frame limit");
            text_item(out, OutcomeTag::TooLarge, &text);
        }
        Err(ItemError::Write(error)) => {
            let text = format!("the result could not be serialized: {error}");
            text_item(out, OutcomeTag::ResultEncode, &text);
        }
        Err(other) => {
            let text = format!("the result could not be written: {other}");
            text_item(out, OutcomeTag::ResultEncode, &text);
        }
    }
}

/// Writes a text outcome. A text too long for the frame (a huge panic
/// message) is cut to what fits.
pub(crate) fn text_item(out: &mut OutcomeWriter<'_>, tag: OutcomeTag, text: &str) {
    if out.item_bytes(tag, text.as_bytes()).is_err() {
        let mut cut = text.len().min(4096);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let _ = out.item_bytes(tag, &text.as_bytes()[..cut]);
    }
}

/// A function pointer type a trampoline can call with one decoded argument:
/// `fn(A) -> T` with `A` as is, `fn(A, B) -> T` with an `(A, B)` spread.
pub(crate) trait Callee<A>: Copy {
    /// What the function returns.
    type Returns;

    /// The function at `address`.
    ///
    /// # Safety
    ///
    /// `address` is a function of exactly this type in this binary.
    unsafe fn from_address(address: usize) -> Self;

    /// Calls it.
    fn call(self, arg: A) -> Self::Returns;
}

impl<A, T> Callee<A> for fn(A) -> T {
    type Returns = T;

    unsafe fn from_address(address: usize) -> Self {
        // SAFETY: the caller guarantees `address` is a `fn(A) -> T` of this binary; fn pointers and `usize` have the same size.
        unsafe { std::mem::transmute::<usize, Self>(address) }
    }

    fn call(self, arg: A) -> T {
        self(arg)
    }
}

impl<A, B, T> Callee<(A, B)> for fn(A, B) -> T {
    type Returns = T;

    unsafe fn from_address(address: usize) -> Self {
        // SAFETY: the caller guarantees `address` is a `fn(A, B) -> T` of this binary; fn pointers and `usize` have the same size.
        unsafe { std::mem::transmute::<usize, Self>(address) }
    }

    fn call(self, (a, b): (A, B)) -> T {
        self(a, b)
    }
}

/// The trampoline for a function `F` taking `A`, whose return value becomes
/// the [`Output`] `O`.
fn trampoline<F, A, O>(function: usize, args: &[u8], out: &mut OutcomeWriter<'_>)
where
    F: Callee<A>,
    A: DeserializeOwned,
    O: Output + From<F::Returns>,
{
    // SAFETY: `run`'s contract: `function` is an `F` of this binary, the type this trampoline was monomorphized for (`call_ref`'s callers pair them).
    let function = unsafe { F::from_address(function) };
    let (count, mut args) = match postcard::take_from_bytes::<u32>(args) {
        Ok(split) => split,
        Err(error) => {
            let text = format!("the argument count could not be read: {error}");
            text_item(out, OutcomeTag::ArgDecode, &text);
            return;
        }
    };
    for _ in 0..count {
        let arg = match postcard::take_from_bytes::<A>(args) {
            Ok((arg, rest)) => {
                args = rest;
                arg
            }
            Err(error) => {
                // The rest of the arguments cannot be found without this one.
                let text = format!("the argument could not be deserialized: {error}");
                text_item(out, OutcomeTag::ArgDecode, &text);
                return;
            }
        };
        match catch_unwind(AssertUnwindSafe(|| function.call(arg))) {
            Ok(value) => O::from(value).write(out),
            Err(payload) => text_item(out, OutcomeTag::Panicked, &crate::panic::message(&*payload)),
        }
    }
}

/// Appends the arguments of a call: their count, then each (see
/// [`Trampoline`]). One argument for `submit`, a chunk's for `map`.
pub(crate) fn encode_args<A: Serialize>(
    args: &[A],
    body: &mut Vec<u8>,
) -> Result<(), postcard::Error> {
    let count = u32::try_from(args.len()).map_err(|_| postcard::Error::SerializeBufferFull)?;
    crate::codec::encode_into(&count, body)?;
    args.iter()
        .try_for_each(|arg| crate::codec::encode_into(arg, body))
}

impl<R> From<R> for Plain<R> {
    fn from(value: R) -> Self {
        Plain(value)
    }
}

impl<R, E> From<Result<R, E>> for Fallible<R, E> {
    fn from(value: Result<R, E>) -> Self {
        Fallible(value)
    }
}

/// The call head for a plain `fn(A) -> R`.
pub(crate) fn plain<A, R>(function: fn(A) -> R) -> CallRef
where
    A: DeserializeOwned,
    R: Serialize,
{
    call_ref(function as usize, trampoline::<fn(A) -> R, A, Plain<R>>)
}

/// The call head for a `fn(A) -> Result<R, E>` whose `Err` is the task's error.
pub(crate) fn fallible<A, R, E>(function: fn(A) -> Result<R, E>) -> CallRef
where
    A: DeserializeOwned,
    R: Serialize,
    E: Serialize,
{
    call_ref(
        function as usize,
        trampoline::<fn(A) -> Result<R, E>, A, Fallible<R, E>>,
    )
}

/// The call head for a `fn(A, B) -> R` called with each `(A, B)` argument
/// spread into its two parameters.
pub(crate) fn spread<A, B, R>(function: fn(A, B) -> R) -> CallRef
where
    A: DeserializeOwned,
    B: DeserializeOwned,
    R: Serialize,
{
    call_ref(
        function as usize,
        trampoline::<fn(A, B) -> R, (A, B), Plain<R>>,
    )
}

/// What an initializer returns: nothing, or `Result<(), E>` whose error is
/// reported as text (it breaks the pool; its type does not cross back).
pub(crate) trait InitOutput {
    /// `Err` with the error's text when the initializer failed.
    fn into_text(self) -> Result<(), String>;
}

impl InitOutput for () {
    fn into_text(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Display> InitOutput for Result<(), E> {
    fn into_text(self) -> Result<(), String> {
        self.map_err(|error| error.to_string())
    }
}

/// The trampoline for an initializer `fn(A) -> T`.
fn init_trampoline<A, T>(function: usize, args: &[u8], out: &mut OutcomeWriter<'_>)
where
    A: DeserializeOwned,
    T: InitOutput,
{
    // SAFETY: `run`'s contract: `function` is a `fn(A) -> T` of this binary, paired with this trampoline by `initializer`/`try_initializer`.
    let function = unsafe { std::mem::transmute::<usize, fn(A) -> T>(function) };
    let one = postcard::take_from_bytes::<u32>(args).map_err(|e| e.to_string());
    let arg = match one.and_then(|(_, rest)| crate::codec::decode_exact::<A>(rest)) {
        Ok(arg) => arg,
        Err(error) => {
            let text = format!("the initializer's argument could not be deserialized: {error}");
            text_item(out, OutcomeTag::ArgDecode, &text);
            return;
        }
    };
    match catch_unwind(AssertUnwindSafe(|| function(arg))) {
        Ok(output) => match output.into_text() {
            Ok(()) => text_item(out, OutcomeTag::Returned, ""),
            Err(text) => text_item(out, OutcomeTag::Raised, &text),
        },
        Err(payload) => text_item(out, OutcomeTag::Panicked, &crate::panic::message(&*payload)),
    }
}

/// The call head for an initializer that cannot fail (but may panic).
pub(crate) fn initializer<A: DeserializeOwned>(function: fn(A)) -> CallRef {
    call_ref(function as usize, init_trampoline::<A, ()>)
}

/// The call head for an initializer that reports failure with `Err`.
pub(crate) fn try_initializer<A, E>(function: fn(A) -> Result<(), E>) -> CallRef
where
    A: DeserializeOwned,
    E: std::fmt::Display,
{
    call_ref(function as usize, init_trampoline::<A, Result<(), E>>)
}
