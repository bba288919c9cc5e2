//! Which handles cross threads. A finished outcome is read by reference from
//! any thread that holds the future (and by callbacks in the completing
//! thread), so sharing needs `T: Send + Sync`; moving it in needs `Send`.
#![cfg(feature = "std")]

use future_core::{Completer, Condvar, Future, FutureCell, Mutex};
use std::cell::Cell;

fn send<T: Send>() {}
fn send_sync<T: Send + Sync>() {}

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
