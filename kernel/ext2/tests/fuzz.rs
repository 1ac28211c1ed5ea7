//! A bounded, deterministic mutation fuzzer: hostile images must give errors, never a
//! panic, a hang or a runaway allocation.
//!
//! Each case takes a small mke2fs fixture, damages one to four places in the structures
//! the crate parses (superblock, group descriptors, inode table, bitmaps, directory blocks,
//! indirect blocks, extended-attribute blocks), mounts it, walks the whole tree reading every
//! file, then tries a round of writes. A watchdog aborts the run if one case stops making
//! progress, naming the seed. Images that once broke the crate go in `tests/data/*.bin` and
//! are replayed first.
#![forbid(unsafe_code)]

mod common;

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Scratch, debugfs, mkfs, pattern};
use ext2::{FileType, Filesystem, InodeNo, Owner};

/// xorshift64*: deterministic, and good enough to choose bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A byte range of the image worth damaging, and how often to pick it.
#[derive(Debug, Clone)]
struct Region {
    name: &'static str,
    start: usize,
    len: usize,
    weight: usize,
}

/// Builds the fixture and finds its interesting regions.
fn fixture(s: &Scratch, block_size: u32, size: &str) -> (Vec<u8>, Vec<Region>) {
    let src = s.path(&format!("src{block_size}"));
    std::fs::create_dir_all(src.join("d/e/f")).unwrap();
    std::fs::create_dir_all(src.join("wide")).unwrap();
    std::fs::write(src.join("small"), b"hello").unwrap();
    std::fs::write(src.join("d/indirect"), pattern(1, 100 * 1024)).unwrap();
    std::fs::write(src.join("d/e/double"), pattern(2, 290 * 1024)).unwrap();
    std::fs::write(src.join("d/e/f/leaf"), b"leaf").unwrap();
    for i in 0..60 {
        std::fs::write(src.join(format!("wide/name-{i:02}")), [i as u8]).unwrap();
    }
    std::os::unix::fs::symlink("d/e/f/leaf", src.join("fast")).unwrap();
    std::os::unix::fs::symlink("x/".repeat(40), src.join("slow")).unwrap();
    std::fs::hard_link(src.join("small"), src.join("d/hard")).unwrap();
    let img = s.path(&format!("img{block_size}"));
    mkfs(&src, &img, block_size, size, &["-I", "128"]);
    let acl = s.path(&format!("acl{block_size}"));
    // user::rw- user:7:r-- group::r-- mask::r-- other::---, as setxattr takes it.
    let mut acl_value = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [(1u16, 6u16, 0u32), (2, 4, 7), (4, 4, 0), (0x10, 4, 0), (0x20, 0, 0)] {
        acl_value
            .extend(tag.to_le_bytes().iter().chain(&perm.to_le_bytes()).chain(&id.to_le_bytes()));
    }
    std::fs::write(&acl, acl_value).unwrap();
    let script = s.path(&format!("xattrs{block_size}"));
    std::fs::write(
        &script,
        format!(
            "ea_set /small user.one 1\nea_set /small trusted.two twotwo\n\
             ea_set -f {} /small system.posix_acl_access\nea_set /d security.x y\n",
            acl.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(common::tool("debugfs"))
        .arg("-w")
        .arg("-f")
        .arg(&script)
        .arg(&img)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("while "), "debugfs ea_set failed");
    let bytes = std::fs::read(&img).unwrap();

    let bs = block_size as usize;
    let fs = Filesystem::open(bytes.clone()).unwrap();
    let geo = fs.geometry().clone();
    let gdt = (geo.first_data_block as usize + 1) * bs;
    let le32 = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let block_at = |b: usize| Region { name: "", start: b * bs, len: bs, weight: 0 };
    let mut regions = vec![
        Region { name: "superblock", start: 1024, len: 264, weight: 3 },
        Region {
            name: "group descriptors",
            start: gdt,
            len: 32 * geo.group_count as usize,
            weight: 3,
        },
        // The first 24 inodes: reserved ones, root, lost+found and the fixture's files.
        Region {
            name: "inode table",
            start: le32(gdt + 8) * bs,
            len: 24 * geo.inode_size as usize,
            weight: 6,
        },
        Region { name: "block bitmap", weight: 1, ..block_at(le32(gdt)) },
        Region { name: "inode bitmap", weight: 1, ..block_at(le32(gdt + 4)) },
    ];
    for dir in ["/", "/d", "/d/e", "/wide"] {
        for b in
            String::from_utf8(debugfs(&img, &format!("blocks {dir}"))).unwrap().split_whitespace()
        {
            regions.push(Region {
                name: "directory block",
                weight: 2,
                ..block_at(b.parse().unwrap())
            });
        }
    }
    for file in ["/d/indirect", "/d/e/double"] {
        let stat = String::from_utf8(debugfs(&img, &format!("stat {file}"))).unwrap();
        for tok in stat
            .split([' ', ',', '\n'])
            .filter(|t| t.starts_with("(IND):") || t.starts_with("(DIND):"))
        {
            let b: usize = tok.split(':').nth(1).unwrap().parse().unwrap();
            regions.push(Region { name: "indirect block", weight: 2, ..block_at(b) });
        }
    }
    assert!(regions.iter().filter(|r| r.name == "indirect block").count() >= 2);
    for file in ["/small", "/d"] {
        let stat = String::from_utf8(debugfs(&img, &format!("stat {file}"))).unwrap();
        let acl = stat.lines().find_map(|l| l.strip_prefix("File ACL: ")).unwrap();
        let b: usize = acl.split_whitespace().next().unwrap().parse().unwrap();
        assert_ne!(b, 0, "{file} has no attribute block");
        regions.push(Region { name: "attribute block", weight: 2, ..block_at(b) });
    }
    (bytes, regions)
}

/// Damages `img` in one to four places.
fn mutate(img: &mut [u8], regions: &[Region], rng: &mut Rng) -> Vec<String> {
    let total: usize = regions.iter().map(|r| r.weight).sum();
    let mut log = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let mut pick = rng.below(total);
        let r = regions.iter().find(|r| {
            pick < r.weight || {
                pick -= r.weight;
                false
            }
        });
        let r = r.unwrap();
        let at = r.start + rng.below(r.len);
        match rng.below(4) {
            0 => img[at] ^= 1 << rng.below(8),
            1 => img[at] = rng.next() as u8,
            _ => {
                // An aligned field set to a value at an edge.
                let at = at & !3;
                let edges = [0u32, 1, 2, 0xffff_ffff, 0x7fff_ffff, 0xffff, 0x1_0000, 12, 268];
                let v = if rng.below(3) == 0 {
                    rng.next() as u32
                } else {
                    edges[rng.below(edges.len())]
                };
                if at + 4 <= img.len() {
                    let width = if rng.below(2) == 0 { 4 } else { 2 };
                    img[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
                }
            }
        }
        log.push(format!("{}@{at}", r.name));
    }
    log
}

/// Walks everything reachable and reads it; then tries a round of writes. Errors are
/// expected; only panics, hangs and huge allocations are failures.
/// Returns how many entries the walk reached (0 if the image did not mount).
fn exercise(img: Vec<u8>, progress: &AtomicU64) -> usize {
    let Ok(mut fs) = Filesystem::open(img) else { return 0 };
    let mut seen = HashSet::new();
    let mut stack = vec![fs.root()];
    let mut files: Vec<(InodeNo, InodeNo, Vec<u8>)> = Vec::new();
    let mut buf = vec![0u8; 8192];
    while let Some(dir) = stack.pop() {
        progress.fetch_add(1, Ordering::Relaxed);
        if !seen.insert(dir) || seen.len() > 2000 {
            continue;
        }
        let Ok(entries) = fs.read_dir(dir) else { continue };
        for e in entries.into_iter().take(500) {
            let _ = fs.lookup(dir, &e.name);
            for name in fs.list_xattrs(e.ino).unwrap_or_default() {
                let _ = fs.get_xattr(e.ino, &name);
            }
            let _ = fs.get_xattr(e.ino, b"system.posix_acl_access");
            let Ok(st) = fs.stat(e.ino) else { continue };
            match st.file_type {
                FileType::Directory if e.name != b"." && e.name != b".." => stack.push(e.ino),
                FileType::Regular => {
                    // The start, the end and one far offset: enough to follow every
                    // kind of pointer without reading gigabytes of holes.
                    for off in [0, 8192, st.size.saturating_sub(100), st.size / 2, 70 << 20] {
                        let _ = fs.read(e.ino, off, &mut buf);
                    }
                }
                FileType::Symlink => {
                    let _ = fs.readlink(e.ino);
                }
                _ => {}
            }
            if e.name != b"." && e.name != b".." {
                files.push((dir, e.ino, e.name));
            }
        }
    }
    // Writes on a damaged filesystem: must fail cleanly too.
    let root = fs.root();
    let owner = Owner { perm: 0o644, uid: 0, gid: 0 };
    if let Ok(f) = fs.create(root, b"fuzz-new", owner) {
        let _ = fs.write(f, 0, &pattern(5, 20_000));
        let _ = fs.write(f, 300 * 1024, b"far");
    }
    let _ =
        fs.mkdir(root, b"fuzz-dir", owner).and_then(|d| fs.symlink(d, b"l", &[b'y'; 100], owner));
    for (i, (dir, ino, name)) in files.iter().enumerate().take(40) {
        progress.fetch_add(1, Ordering::Relaxed);
        let _ = fs.set_xattr(*ino, b"user.fuzz", &pattern(i as u32, 100));
        let _ = fs.remove_xattr(*ino, b"user.one");
        let _ = match i % 5 {
            0 => fs.truncate(*ino, 1000),
            1 => fs.unlink(*dir, name),
            2 => fs.rename(*dir, name, root, format!("moved-{i}").as_bytes()),
            3 => fs.rmdir(*dir, name),
            _ => fs.write(*ino, 5000, b"more").map(drop),
        };
    }
    let _ = fs.sync();
    files.len()
}

/// Runs `cases` mutations of one fixture; returns how many mounted.
fn fuzz(block_size: u32, size: &str, seed: u64, cases: u32, progress: &Arc<AtomicU64>) {
    let s = Scratch::new("fuzz");
    let (clean, regions) = fixture(&s, block_size, size);
    let mut rng = Rng(seed);
    let start = Instant::now();
    let (mut mounted, mut entries) = (0, 0);
    for case in 0..cases {
        let mut img = clean.clone();
        let what = mutate(&mut img, &regions, &mut rng);
        let copy = img.clone();
        let p = progress.clone();
        let outcome = catch_unwind(AssertUnwindSafe(|| exercise(img, &p)));
        if let Ok(n) = outcome {
            mounted += u32::from(n > 0);
            entries += n;
        } else {
            let saved =
                std::env::temp_dir().join(format!("ext2-fuzz-{block_size}-{seed}-{case}.bin"));
            std::fs::write(&saved, &copy).unwrap();
            panic!(
                "case {case} (seed {seed}, {block_size}-byte blocks, {what:?}) panicked; image saved to {saved:?}"
            );
        }
        progress.fetch_add(1, Ordering::Relaxed);
    }
    eprintln!(
        "{cases} mutations of the {block_size}-byte-block fixture in {:?}: {mounted} mounted, \
         {entries} entries walked",
        start.elapsed()
    );
    // Most damage is local: if most cases fail to mount, the fuzzer tests only the
    // superblock checks.
    assert!(mounted > cases / 2, "only {mounted} of {cases} cases mounted");
}

/// Aborts the process if `progress` stops moving for `limit`: a hang must fail the run,
/// not stall it.
fn watchdog(progress: Arc<AtomicU64>, limit: Duration) {
    std::thread::spawn(move || {
        let mut last = progress.load(Ordering::Relaxed);
        loop {
            std::thread::sleep(limit);
            let now = progress.load(Ordering::Relaxed);
            if now == last {
                eprintln!("ext2 fuzz: no progress for {limit:?}; a case hangs");
                std::process::abort();
            }
            last = now;
        }
    });
}

#[test]
fn hostile_images_never_panic_or_hang() {
    let progress = Arc::new(AtomicU64::new(0));
    watchdog(progress.clone(), Duration::from_secs(20));
    // A fixed number of cases, not a time: how fast they run never decides the test (the
    // watchdog catches a case that hangs).
    fuzz(1024, "1M", 0x5eed_0001, 3000, &progress);
    fuzz(4096, "2M", 0x5eed_0002, 1500, &progress);
}

#[test]
fn saved_findings_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let progress = AtomicU64::new(0);
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "bin") {
            let _ = exercise(std::fs::read(&path).unwrap(), &progress);
        }
    }
}
