//! Hash every file under a directory in parallel (64-bit FNV-1a, no
//! dependencies), reading at most a window of files ahead, and print the
//! hashes in path order.
//!
//! `cargo run --release -p thread-exec --example hash_dir [DIR] [WORKERS]`

use std::fs::File;
use std::io::{BufReader, Read};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use thread_exec::{MapOptions, ThreadPoolExecutor};

/// Every regular file under `dir`, sorted; unreadable directories are
/// skipped.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => stack.push(entry.path()),
                Ok(kind) if kind.is_file() => out.push(entry.path()),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// 64-bit FNV-1a of the file's bytes, and its length.
fn hash(path: &Path) -> std::io::Result<(u64, u64)> {
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path)?);
    let mut buf = [0u8; 1 << 16];
    let (mut hash, mut len) = (0xcbf2_9ce4_8422_2325u64, 0u64);
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok((hash, len));
        }
        for &byte in &buf[..n] {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        len += n as u64;
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| ".".to_owned()));
    let workers = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(4, |n| n.get()));
    let pool = ThreadPoolExecutor::builder()
        .max_workers(workers)
        .thread_name_prefix("hasher")
        .build()
        .expect("max_workers is not zero");

    let paths = files(&dir);
    let window = NonZeroUsize::new(4 * workers).expect("at least one worker");
    let options = MapOptions::new().buffersize(window);
    let hashes = pool
        .map_with(|path: PathBuf| (hash(&path), path), paths, options)
        .expect("the pool is running");
    let (mut count, mut bytes) = (0u64, 0u64);
    for item in hashes {
        let (hashed, path) = item.expect("hashing does not panic");
        match hashed {
            Ok((hash, len)) => {
                count += 1;
                bytes += len;
                println!("{hash:016x}  {}", path.display());
            }
            Err(error) => eprintln!("{}: {error}", path.display()),
        }
    }
    pool.shutdown(true, false);
    eprintln!("{count} files, {bytes} bytes, {workers} workers");
}
