//! Memory test: a test-only global allocator scans every freed block for known key bytes
//! before handing it back to the system, so a copy of key material left in freed heap memory
//! is found (without ever reading memory after it was freed).
//!
//! Soundness: every block is allocated zeroed (`alloc_zeroed`), so all its bytes are
//! initialised when the scan reads them; `realloc` is the trait's default (alloc, copy,
//! dealloc), so moved-out blocks are scanned too.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::*;

struct ScanningAllocator;

static ARMED: AtomicBool = AtomicBool::new(false);
static PATTERN: [AtomicU8; 32] = [const { AtomicU8::new(0) }; 32];
static HITS: AtomicUsize = AtomicUsize::new(0);
static SCANNED: AtomicUsize = AtomicUsize::new(0);
/// Serialises the tests that arm the scanner.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn contains_half_of_pattern(block: &[u8]) -> bool {
    let mut pat = [0u8; 32];
    for (p, a) in pat.iter_mut().zip(PATTERN.iter()) {
        *p = a.load(Ordering::Relaxed);
    }
    let (a, b) = pat.split_at(16);
    block.windows(16).any(|w| w == a || w == b)
}

unsafe impl GlobalAlloc for ScanningAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded to the system allocator with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) && layout.size() >= 16 {
            // SAFETY: the block is still allocated (we free it below), `layout.size()` bytes
            // long, and fully initialised because `alloc` zeroed it.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            SCANNED.fetch_add(1, Ordering::Relaxed);
            if contains_half_of_pattern(block) {
                HITS.fetch_add(1, Ordering::SeqCst);
            }
        }
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: ScanningAllocator = ScanningAllocator;

fn arm(material: &[u8; 32]) {
    for (a, b) in PATTERN.iter().zip(material) {
        a.store(*b, Ordering::SeqCst);
    }
    HITS.store(0, Ordering::SeqCst);
    SCANNED.store(0, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
}

fn disarm() -> (usize, usize) {
    ARMED.store(false, Ordering::SeqCst);
    (HITS.load(Ordering::SeqCst), SCANNED.load(Ordering::SeqCst))
}

static MATERIAL: [u8; 32] = *b"\xe1\x07ZEROIZE-ME-KNOWN-KEY-BYTES-\x5a\xa5!";

#[test]
fn scanner_finds_an_unwiped_copy() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    arm(&MATERIAL);
    let v = std::hint::black_box(MATERIAL.to_vec());
    drop(v);
    let (hits, _) = disarm();
    assert!(
        hits >= 1,
        "positive control: an unwiped Vec holding the key must be found"
    );
}

#[test]
fn key_material_leaves_no_trace_in_freed_memory() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    arm(&MATERIAL);
    {
        let f = fx(2);
        let aes =
            f.c.install_key_for_test(0, "alice", KeyKind::Aes256, &MATERIAL, true);
        let mac =
            f.c.install_key_for_test(0, "alice", KeyKind::HmacSha256, &MATERIAL, true);
        let sig =
            f.c.install_key_for_test(0, "alice", KeyKind::Signing, &MATERIAL, true);
        // Use every path that touches material.
        let ct = f.alice.encrypt(aes, b"data").unwrap();
        assert_eq!(f.alice.decrypt(aes, &ct).unwrap(), b"data");
        f.alice.hmac(mac, b"data").unwrap();
        let s = f.alice.sign(sig, b"data").unwrap();
        assert_eq!(f.alice.verify(sig, b"data", &s), Ok(true));
        let w = f.alice.generate_key(KeyKind::Aes256, true).unwrap();
        for k in [aes, mac, sig] {
            let blob = f.alice.wrap_key(k, w).unwrap();
            let copy = f.alice.unwrap_key(&blob, w).unwrap();
            f.alice.delete_key(copy).unwrap();
            let blob2 = f.alice.wrap_key(w, k);
            let _ = blob2;
        }
        let m = f.alice.extract_masked(aes).unwrap();
        // A key with a label and a share: the public fields of its record are non-empty, so a
        // record encoding sized for them wrongly would grow (and leave the material behind).
        f.alice
            .set_label(mac, "a label long enough to need room")
            .unwrap();
        f.alice.share_key(mac, "bob").unwrap();
        let ml = f.alice.extract_masked(mac).unwrap();
        f.alice.sync_status().unwrap();
        let au = login(&f.c, 1, "app_user", AU_PW);
        au.clone_from(0).unwrap();
        let alice1 = login(&f.c, 1, "alice", CU_PW);
        alice1.delete_key(aes).unwrap();
        assert_eq!(alice1.insert_masked(&m), Ok(aes));
        assert_eq!(alice1.decrypt(aes, &ct).unwrap(), b"data");
        alice1.delete_key(mac).unwrap();
        assert_eq!(alice1.insert_masked(&ml), Ok(mac));
        assert_eq!(alice1.hmac(mac, b"data"), f.alice.hmac(mac, b"data"));
        // Zeroize both HSMs: every record holding the material is dropped and wiped.
        f.alice.zeroize().unwrap();
        alice1.zeroize().unwrap();
        assert!(f.c.inspect(0).unwrap().keys.is_empty());
        assert!(f.c.inspect(1).unwrap().keys.is_empty());
    }
    let (hits, scanned) = disarm();
    assert!(scanned > 0);
    assert_eq!(hits, 0, "key material found in {hits} freed heap blocks");
}
