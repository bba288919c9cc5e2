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

use crate::panic;
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

/// `address` as an offset from [`anchor`]: the same in every process
/// running this binary, wherever it was loaded.
pub(crate) fn offset(address: usize) -> i64 {
    (address as i64).wrapping_sub(anchor as fn() as usize as i64)
}

/// The address `offset` (from [`offset`]) names in this process.
pub(crate) fn address(offset: i64) -> usize {
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
        write_value(out, OutcomeTag::Returned, self.0);
    }
}

impl<R: Serialize, E: Serialize> Output for Fallible<R, E> {
    fn write(self, out: &mut OutcomeWriter<'_>) {
        match self.0 {
            Ok(value) => write_value(out, OutcomeTag::Returned, value),
            Err(error) => write_value(out, OutcomeTag::Raised, error),
        }
    }
}

/// Why a value did not become its item: user code of its own that failed.
enum Unwritten {
    /// `Serialize` returned an error.
    Encode(postcard::Error),
    /// `Serialize` panicked.
    EncodePanicked(String),
    /// The value was written, then its `Drop` panicked.
    DropPanicked(String),
}

/// Writes `value` as one item and drops it. The value's `Serialize` and
/// `Drop` are the task's code: a panic in either is caught and becomes this
/// item's error (the item's partial bytes are removed), never the worker's
/// end.
fn write_value<T: Serialize>(out: &mut OutcomeWriter<'_>, tag: OutcomeTag, value: T) {
    let written = out.item(tag, |buf| {
        let encoded = catch_unwind(AssertUnwindSafe(|| crate::codec::encode_into(&value, buf)));
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(value)));
        match (encoded, dropped) {
            (Ok(Ok(())), Ok(())) => Ok(()),
            (Ok(Err(error)), _) => Err(Unwritten::Encode(error)),
            (Err(payload), _) => Err(Unwritten::EncodePanicked(panic::into_message(payload))),
            (Ok(Ok(())), Err(payload)) => {
                Err(Unwritten::DropPanicked(panic::into_message(payload)))
            }
        }
    });
    let (tag, text) = match written {
        Ok(()) => return,
        Err(ItemError::TooLarge { len, max }) => (
            OutcomeTag::TooLarge,
            format!("the encoded result is {len} bytes, above the {max}-byte frame limit"),
        ),
        Err(ItemError::Write(Unwritten::Encode(error))) => (
            OutcomeTag::ResultEncode,
            format!("the result could not be serialized: {error}"),
        ),
        Err(ItemError::Write(Unwritten::EncodePanicked(message))) => (
            OutcomeTag::ResultEncode,
            format!("the result's Serialize panicked: {message}"),
        ),
        Err(ItemError::Write(Unwritten::DropPanicked(message))) => (
            OutcomeTag::Panicked,
            format!("dropping the result panicked: {message}"),
        ),
        // Only text items are checked for UTF-8.
        Err(ItemError::BadUtf8 { valid_up_to }) => (
            OutcomeTag::ResultEncode,
            format!("the result could not be written: not UTF-8 after {valid_up_to} bytes"),
        ),
    };
    text_item(out, tag, &text);
}

/// What ends a text cut short to fit its frame.
const CUT: &str = "...";

/// Bytes a text outcome leaves free for each item after it, beyond the
/// empty item the writer keeps for it anyway: a text is only a diagnostic,
/// and should not take the room a later item's value needs.
const TEXT_SPARE: usize = 64;

/// Writes a text outcome, cut to the room the frame has left (a panic
/// message of any length, under any frame limit): the writer keeps room for
/// every item still to come, so this item always gets at least an empty
/// text, and the item count always matches the arguments.
pub(crate) fn text_item(out: &mut OutcomeWriter<'_>, tag: OutcomeTag, text: &str) {
    let later = out.expected().saturating_sub(out.count().saturating_add(1));
    let spare = usize::try_from(later)
        .unwrap_or(usize::MAX)
        .saturating_mul(TEXT_SPARE);
    let room = out.room().saturating_sub(spare);
    let cut;
    let text = if text.len() <= room {
        text
    } else if room < CUT.len() {
        // Nothing fits; the parent says so in its own words.
        ""
    } else {
        let mut end = room - CUT.len();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        cut = format!("{}{CUT}", &text[..end]);
        &cut
    };
    // Fits by construction; a writer without `expect` may still refuse it,
    // which the count check of the parent then reports.
    let _ = out.item_bytes(tag, text.as_bytes());
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
    // One outcome per argument, always: the parent matches them by position.
    out.expect(count);
    for index in 0..count {
        // The argument's `Deserialize` is the task's code: a panic in it is
        // this argument's error.
        drop(crate::shared_bytes::take_refusal());
        let decoded = catch_unwind(AssertUnwindSafe(|| postcard::take_from_bytes::<A>(args)))
            .map_err(|payload| {
                format!("its Deserialize panicked: {}", panic::into_message(payload))
            });
        let arg = match decoded {
            Ok(Ok((arg, rest))) => {
                args = rest;
                arg
            }
            Ok(Err(error)) => {
                // A refused shared payload says why; postcard keeps no text.
                let why = crate::shared_bytes::take_refusal().unwrap_or_else(|| error.to_string());
                return arg_failed(out, index, count, &why);
            }
            Err(text) => return arg_failed(out, index, count, &text),
        };
        // The argument is moved into the call: its `Drop` runs in there.
        match catch_unwind(AssertUnwindSafe(|| function.call(arg))) {
            Ok(value) => O::from(value).write(out),
            Err(payload) => text_item(out, OutcomeTag::Panicked, &panic::into_message(payload)),
        }
    }
}

/// Argument `index` of `count` could not be decoded: it and every argument
/// after it (which cannot be found without it) get an `ArgDecode` outcome.
fn arg_failed(out: &mut OutcomeWriter<'_>, index: u32, count: u32, why: &str) {
    let text = format!("the argument could not be deserialized: {why}");
    text_item(out, OutcomeTag::ArgDecode, &text);
    for _ in index + 1..count {
        let text = "an earlier argument of its chunk could not be deserialized";
        text_item(out, OutcomeTag::ArgDecode, text);
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
    out.expect(1);
    // Everything of the user's runs caught: the argument's `Deserialize`,
    // the initializer (which drops the argument), and its error's `Display`
    // and `Drop`.
    let ran = catch_unwind(AssertUnwindSafe(|| {
        let one = postcard::take_from_bytes::<u32>(args).map_err(|e| e.to_string());
        let arg = one.and_then(|(_, rest)| crate::codec::decode_exact::<A>(rest))?;
        Ok::<_, String>(function(arg).into_text())
    }));
    match ran {
        Ok(Ok(Ok(()))) => text_item(out, OutcomeTag::Returned, ""),
        Ok(Ok(Err(text))) => text_item(out, OutcomeTag::Raised, &text),
        Ok(Err(error)) => {
            let text = format!("the initializer's argument could not be deserialized: {error}");
            text_item(out, OutcomeTag::ArgDecode, &text);
        }
        Err(payload) => text_item(out, OutcomeTag::Panicked, &panic::into_message(payload)),
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
