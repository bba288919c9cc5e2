//! Log records of the pool's life (feature `log`): a worker started,
//! retired, killed, died, replaced; the pool broken. Without the feature the
//! arguments are type-checked and never evaluated.

/// `event!(level, "format", args..)`: a `log` record under the target
/// `proc_exec`, or nothing.
#[cfg(feature = "log")]
macro_rules! event {
    ($level:ident, $($arg:tt)+) => {
        ::log::$level!(target: "proc_exec", $($arg)+)
    };
}

#[cfg(not(feature = "log"))]
macro_rules! event {
    ($level:ident, $($arg:tt)+) => {
        if false {
            let _ = format_args!($($arg)+);
        }
    };
}

/// How a record names a worker whose pid may not be known yet.
pub(crate) struct Who(pub(crate) Option<u32>);

impl core::fmt::Display for Who {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(pid) => write!(f, "worker {pid}"),
            None => f.write_str("a worker not started yet"),
        }
    }
}
