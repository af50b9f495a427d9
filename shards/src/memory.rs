//! Memory accounting: a global allocator wrapper that counts the bytes the process holds, so
//! `INFO memory` and `maxmemory` see what Orbit really holds (as Redis's zmalloc does). Each
//! thread adds to its own cache-line-sized slot, so shards do not contend on one counter; a
//! read sums the slots.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

const SLOTS: usize = 64;

#[repr(align(64))]
struct Slot(AtomicI64);

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: Slot = Slot(AtomicI64::new(0));
static COUNTS: [Slot; SLOTS] = [ZERO; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MY_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
fn slot() -> usize {
    MY_SLOT
        .try_with(|s| {
            let v = s.get();
            if v != usize::MAX {
                return v;
            }
            let n = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS;
            s.set(n);
            n
        })
        .unwrap_or(0)
}

/// The counting allocator; the binary installs it with `#[global_allocator]`.
pub struct CountingAlloc;

// SAFETY: delegates every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            COUNTS[slot()].0.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        COUNTS[slot()].0.fetch_sub(layout.size() as i64, Ordering::Relaxed);
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            COUNTS[slot()].0.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            COUNTS[slot()].0.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        p
    }
}

/// Bytes currently allocated by the process through the counting allocator (0 if it is not
/// installed).
pub fn used_bytes() -> u64 {
    COUNTS.iter().map(|s| s.0.load(Ordering::Relaxed)).sum::<i64>().max(0) as u64
}
