//! Which handles cross threads. A finished outcome is read by reference from
//! any thread that holds the future (and by callbacks in the completing
//! thread), so sharing it needs `T: Send + Sync`; producing it (a
//! `Completer`) needs only `T: Send`.
#![cfg(feature = "std")]

use future_core::{Completer, Condvar, Future, FutureCell, Mutex};
use std::cell::{Cell, RefCell};

fn send<T: Send>() {}
fn send_sync<T: Send + Sync>() {}

/// Compiles only when `$ty` does not implement `$trait`: with the trait,
/// both blanket impls apply and the call is ambiguous.
macro_rules! assert_not {
    ($trait:path: $ty:ty) => {{
        trait AmbiguousIfImpl<A> {
            fn check() {}
        }
        impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
        struct Has;
        impl<T: ?Sized + $trait> AmbiguousIfImpl<Has> for T {}
        <$ty as AmbiguousIfImpl<_>>::check();
    }};
}

#[test]
fn handles_of_thread_safe_values_are_send_and_sync() {
    send_sync::<Future<String, String>>();
    send_sync::<Completer<Vec<u8>, std::io::Error>>();
    send_sync::<FutureCell<u64, (), 4>>();
    send_sync::<Mutex<Vec<u8>>>();
    send_sync::<Condvar>();
}

#[test]
fn a_send_but_not_sync_value_can_still_be_owned_by_a_mutex() {
    send_sync::<Mutex<Cell<u8>>>();
    send::<FutureCell<Cell<u8>, ()>>();
}

#[test]
fn a_send_but_not_sync_result_can_be_produced_in_another_thread() {
    send_sync::<Completer<RefCell<u8>, ()>>();
    send_sync::<Completer<u8, Cell<u8>>>();
    let fut: Future<RefCell<u8>, Cell<u8>> = Future::new();
    let completer = fut.completer();
    std::thread::spawn(move || completer.set_result(RefCell::new(1)).unwrap())
        .join()
        .unwrap();
    let value = fut.into_result().unwrap();
    *value.borrow_mut() += 1;
    assert_eq!(value.into_inner(), 2);
}

#[test]
fn the_handle_that_reads_a_send_but_not_sync_result_stays_in_its_thread() {
    assert_not!(Send: Future<RefCell<u8>, ()>);
    assert_not!(Sync: Future<RefCell<u8>, ()>);
    assert_not!(Send: Future<u8, Cell<u8>>);
    assert_not!(Sync: FutureCell<RefCell<u8>, ()>);
}

#[test]
fn a_value_that_cannot_leave_its_thread_makes_no_handle_that_can() {
    assert_not!(Send: Completer<std::rc::Rc<u8>, ()>);
    assert_not!(Sync: Completer<std::rc::Rc<u8>, ()>);
    assert_not!(Send: Completer<u8, std::rc::Rc<u8>>);
    assert_not!(Send: Future<std::rc::Rc<u8>, ()>);
}
