//! C allocator symbols for wasm32, and a global allocator that tolerates `free(NULL)`.
//!
//! The pure-Rust JPEG 2000 decoder (openjp2, via dicom-pixeldata) was translated from C
//! and still imports `malloc`, `calloc`, `realloc`, `free` and `strcpy` from `env` on
//! wasm32. Without these exports the module fails to instantiate in the browser. Each
//! allocation carries a small header holding its size so `free`/`realloc` can rebuild the
//! `Layout`. openjp2 also frees null pointers routinely; the wrapper allocator ignores
//! those instead of trapping.

use std::alloc::{GlobalAlloc, Layout, System};

struct NullTolerantAllocator;

unsafe impl GlobalAlloc for NullTolerantAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !ptr.is_null() {
            System.dealloc(ptr, layout)
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: NullTolerantAllocator = NullTolerantAllocator;

/// Bytes in front of every C allocation; keeps the payload 16-byte aligned.
const HEADER: usize = 16;
const ALIGN: usize = 16;

fn c_layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, ALIGN).ok()
}

unsafe fn c_alloc(size: usize, zeroed: bool) -> *mut u8 {
    let Some(layout) = c_layout(size) else {
        return std::ptr::null_mut();
    };
    let base = if zeroed {
        System.alloc_zeroed(layout)
    } else {
        System.alloc(layout)
    };
    if base.is_null() {
        return base;
    }
    (base as *mut usize).write(size);
    base.add(HEADER)
}

/// C `malloc` for code translated from C.
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut u8 {
    c_alloc(size, false)
}

/// C `calloc` for code translated from C.
#[no_mangle]
pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut u8 {
    match count.checked_mul(size) {
        Some(total) => c_alloc(total, true),
        None => std::ptr::null_mut(),
    }
}

/// C `realloc` for code translated from C.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        return c_alloc(size, false);
    }
    let base = ptr.sub(HEADER);
    let old = (base as *const usize).read();
    let (Some(old_layout), Some(_)) = (c_layout(old), c_layout(size)) else {
        return std::ptr::null_mut();
    };
    let new_base = System.realloc(base, old_layout, size + HEADER);
    if new_base.is_null() {
        return new_base;
    }
    (new_base as *mut usize).write(size);
    new_base.add(HEADER)
}

/// C `free` for code translated from C; `free(NULL)` does nothing.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    let base = ptr.sub(HEADER);
    let size = (base as *const usize).read();
    if let Some(layout) = c_layout(size) {
        System.dealloc(base, layout);
    }
}

/// C `strcpy` for code translated from C.
#[no_mangle]
pub unsafe extern "C" fn strcpy(dst: *mut u8, src: *const u8) -> *mut u8 {
    let mut i = 0;
    loop {
        let c = *src.add(i);
        *dst.add(i) = c;
        if c == 0 {
            return dst;
        }
        i += 1;
    }
}
