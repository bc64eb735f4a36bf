//! The lib tests' allocator: the system's, counting what each thread holds, so a test can
//! measure what a structure keeps in memory (`held`) without other tests' threads in it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// What an allocation of `n` bytes takes from glibc's malloc (`store::overlay::chunk`: a 1-byte
/// value takes 32), so what a test measures is what the process holds.
fn chunk(n: usize) -> isize {
    crate::store::overlay::chunk(n) as isize
}

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
    /// The most `HELD` has been since `reset_peak`.
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

struct Counting;

fn add(n: isize) {
    // `try_with`: a thread's allocations after its locals are gone are not counted.
    let _ = HELD.try_with(|h| {
        h.set(h.get() + n);
        let _ = PEAK.try_with(|p| p.set(p.get().max(h.get())));
    });
}

// SAFETY: every call goes to `System` unchanged; the counting touches a const thread-local.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(chunk(layout.size()));
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(chunk(layout.size()));
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-chunk(layout.size()));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(chunk(new_size) - chunk(layout.size()));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Bytes this thread holds now (allocated here and not yet freed), malloc's share included.
pub fn held() -> isize {
    HELD.with(Cell::get)
}

/// Starts a new `peak` from what this thread holds now.
pub fn reset_peak() {
    PEAK.with(|p| p.set(held()));
}

/// The most this thread held at once since `reset_peak`.
pub fn peak() -> isize {
    PEAK.with(Cell::get)
}
