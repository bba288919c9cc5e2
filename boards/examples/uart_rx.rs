//! A UART receive driver on an nRF52840 (Cortex-M4F, `thumbv7em-none-eabihf`),
//! the pattern future-core's `FutureCell` is for on a microcontroller: the
//! interrupt handler completes a `static` cell with the received byte, the
//! main loop waits for it and takes it with `reset`, which re-arms the cell
//! for the next byte. No allocator, no executor, no critical section.
//!
//! Built in CI (`cargo build --example uart_rx --target thumbv7em-none-eabihf`);
//! flash it with probe-rs or similar to run it. The UARTE registers are
//! written by hand to keep the example free of a HAL; its interrupt arrives
//! through `DefaultHandler`, as every device interrupt does without a PAC.
#![no_std]
#![no_main]

use core::ptr;
use cortex_m_rt::{entry, exception};
use future_core::{FutureCell, ResetError};
use panic_semihosting as _;

/// UARTE0's base address and the registers used (nRF52840 product spec, 6.34).
const UARTE0: usize = 0x4000_2000;
const TASKS_STARTRX: usize = 0x000;
const EVENTS_ENDRX: usize = 0x110;
const EVENTS_ERROR: usize = 0x124;
const INTENSET: usize = 0x304;
const ERRORSRC: usize = 0x480;
const ENABLE: usize = 0x500;
const PSEL_RXD: usize = 0x514;
const BAUDRATE: usize = 0x524;
const RXD_PTR: usize = 0x534;
const RXD_MAXCNT: usize = 0x538;
/// UARTE0_UART0's interrupt number.
const UARTE0_IRQ: i16 = 2;

/// A line error reported by the UART (its ERRORSRC bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxError(u32);

/// One received byte per round; the interrupt completes it, `main` resets it.
static RX: FutureCell<u8, RxError, 1> = FutureCell::new();

/// The one-byte DMA buffer the UART writes into.
static mut RX_BUFFER: u8 = 0;

fn write(offset: usize, value: u32) {
    // SAFETY: a UARTE0 register of the nRF52840, written as the datasheet says.
    unsafe { ptr::write_volatile((UARTE0 + offset) as *mut u32, value) }
}

fn read(offset: usize) -> u32 {
    // SAFETY: a UARTE0 register of the nRF52840.
    unsafe { ptr::read_volatile((UARTE0 + offset) as *const u32) }
}

fn start_receive() {
    write(RXD_PTR, ptr::addr_of_mut!(RX_BUFFER) as u32);
    write(RXD_MAXCNT, 1);
    write(TASKS_STARTRX, 1);
}

/// Every device interrupt lands here without a PAC; only UARTE0 is enabled.
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn != UARTE0_IRQ {
        return;
    }
    if read(EVENTS_ERROR) != 0 {
        write(EVENTS_ERROR, 0);
        let source = read(ERRORSRC);
        write(ERRORSRC, source);
        // Refused only if the main loop has not taken the last byte yet:
        // then this one is dropped, as a one-byte FIFO would.
        let _ = RX.set_exception(RxError(source));
    }
    if read(EVENTS_ENDRX) != 0 {
        write(EVENTS_ENDRX, 0);
        // SAFETY: ENDRX: the DMA transfer into the buffer is over, and the
        // next one starts only after this read (in `start_receive`).
        let byte = unsafe { ptr::read_volatile(ptr::addr_of!(RX_BUFFER)) };
        // Completing from an interrupt never waits for a lock, even if the
        // main loop was registering with RX at this moment.
        let _ = RX.set_result(byte);
    }
}

#[entry]
fn main() -> ! {
    write(PSEL_RXD, 8); // P0.08, the nRF52840-DK's RX pin
    write(BAUDRATE, 0x0275_0000); // 9600 baud
    write(ENABLE, 8);
    write(INTENSET, (1 << 4) | (1 << 9)); // ENDRX, ERROR
    // SAFETY: the handler above is ready before the interrupt is unmasked.
    unsafe { cortex_m::peripheral::NVIC::unmask(Irq(UARTE0_IRQ as u16)) };
    let mut checksum = 0u8;
    loop {
        start_receive();
        while !RX.done() {
            cortex_m::asm::wfi();
        }
        // Nothing else registers with RX, and on one core the interrupt
        // finishes its completion before the main loop runs again, so the
        // retry below is for form's sake.
        let outcome = loop {
            match RX.reset() {
                Err(ResetError::Settling | ResetError::Busy) => continue,
                other => break other,
            }
        };
        match outcome {
            Ok(Some(Ok(byte))) => checksum = checksum.wrapping_add(byte),
            Ok(Some(Err(RxError(_)))) | Ok(None) => checksum = 0,
            Err(e) => panic!("{e}"),
        }
    }
}

/// An interrupt number for `NVIC::unmask`, without a PAC.
#[derive(Clone, Copy)]
struct Irq(u16);

// SAFETY: `Irq` holds a valid nRF52840 interrupt number.
unsafe impl cortex_m::interrupt::InterruptNumber for Irq {
    fn number(self) -> u16 {
        self.0
    }
}
