//! A sensor driver's handshake without an allocator: the main loop starts a
//! conversion and waits on a `static` future; an interrupt handler (a
//! thread here, standing in for the ADC's ISR) completes it. Each sample has
//! its own `FutureCell` in a static array, done callbacks are plain `fn`s
//! in fixed inline storage, and one conversion overruns and fails.
//!
//! `cargo run -p future-core --example sensor_irq`

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use future_core::{Completion, FutureCell, ResultError};

/// Why a conversion gave no sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AdcError {
    /// The previous sample was not read in time.
    Overrun,
}

const SAMPLES: usize = 8;

/// One future per conversion, each with room for one callback: no heap.
static CONVERSIONS: [FutureCell<u16, AdcError, 1>; SAMPLES] =
    [const { FutureCell::new() }; SAMPLES];

/// Bumped by a done callback (in the "ISR", as the completing context).
static COMPLETED: AtomicU32 = AtomicU32::new(0);

fn count(completion: Completion<'_, u16, AdcError>) {
    if !completion.cancelled() {
        // ORDERING: a statistic; nothing else is read through it.
        COMPLETED.fetch_add(1, Ordering::Relaxed);
    }
}

/// The interrupt handler: on each "end of conversion" it publishes the
/// sample. It never blocks and never allocates.
fn adc_isr(index: usize) {
    let cell = &CONVERSIONS[index];
    let completed = if index == 5 {
        cell.set_exception(AdcError::Overrun).is_ok()
    } else {
        // A 12-bit reading of a slowly rising voltage.
        cell.set_result(1000 + 37 * index as u16).is_ok()
    };
    assert!(completed, "each conversion completes once");
}

fn main() {
    for cell in &CONVERSIONS {
        cell.add_done_callback_fn(count)
            .expect("one callback fits in each cell");
    }
    // The "hardware": ends a conversion every millisecond.
    let hardware = std::thread::spawn(|| {
        for index in 0..SAMPLES {
            std::thread::sleep(Duration::from_millis(1));
            adc_isr(index);
        }
    });
    let mut sum = 0u32;
    for (index, cell) in CONVERSIONS.iter().enumerate() {
        match cell.result(Some(Duration::from_secs(5))) {
            Ok(&sample) => {
                sum += u32::from(sample);
                println!("sample {index}: {sample}");
            }
            Err(ResultError::Failed(error)) => println!("sample {index}: {error:?}"),
            Err(other) => panic!("sample {index}: {other:?}"),
        }
    }
    hardware.join().expect("the ISR thread does not panic");
    println!(
        "{} conversions completed, mean of the good ones {}",
        COMPLETED.load(Ordering::Relaxed),
        sum / (SAMPLES as u32 - 1)
    );
}
