//! `future_core::Future` (Python's future, a struct) and the prelude's
//! `Future` trait live side by side: importing ours shadows the trait's name
//! in the module, and the trait stays reachable by its path.
#![cfg(feature = "alloc")]

use future_core::{Future, ResultError};

/// Takes anything awaitable, named by the trait's full path.
fn awaitable<F>(future: F) -> F
where
    F: std::future::Future<Output = Result<u32, ResultError<()>>>,
{
    future
}

#[test]
fn ours_is_awaitable_through_the_traits_path() {
    let future: Future<u32, ()> = Future::new();
    future.set_result(7).unwrap();
    let awaited = awaitable(future);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut pinned = std::pin::pin!(awaited);
    assert_eq!(
        std::future::Future::poll(pinned.as_mut(), &mut cx),
        std::task::Poll::Ready(Ok(7))
    );
}

mod aliased {
    use future_core::Future as PyFuture;

    /// The trait keeps its prelude name when ours is imported under another
    /// (written out on purpose: naming the trait is what is tested).
    #[allow(clippy::manual_async_fn)]
    fn ready() -> impl Future<Output = u8> {
        async { 1 }
    }

    #[test]
    fn an_alias_keeps_the_preludes_trait() {
        let fut: PyFuture<u8, ()> = PyFuture::new();
        fut.set_result(1).unwrap();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let poll = std::pin::pin!(ready()).poll(&mut cx);
        assert_eq!(poll, std::task::Poll::Ready(1));
        assert_eq!(fut.into_result(), Ok(1));
    }
}
