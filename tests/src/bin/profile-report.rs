//! `profile-report`: where a guest spent its instructions, by function, from a file the
//! tbprof plugin wrote (tests/profile/tbprof.c; README, "Profiling under TCG").
//!
//! Usage: `profile-report FILE [--top N] [--kernel ELF] [--exclude SUBSTRING]...`. The kernel
//! is the `-kernel` argument of the command line the file records, unless `--kernel` names
//! it. Blocks in the upper half are named by the kernel's symbols (`nm -n -C`); blocks in the
//! lower half are counted as `[user]`. `--exclude` leaves out functions whose names contain
//! the substring (boot-time work such as `miniz_oxide` or `sha2`), and the percentages are of
//! what remains.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::process::{Command, ExitCode};

/// Where user space ends on x86-64 (the lower canonical half).
const USER_END: u64 = 0x0000_8000_0000_0000;

struct Options {
    file: String,
    top: usize,
    kernel: Option<String>,
    exclude: Vec<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut o = Options { file: String::new(), top: 40, kernel: None, exclude: Vec::new() };
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--top" => o.top = value()?.parse().map_err(|e| format!("--top: {e}"))?,
            "--kernel" => o.kernel = Some(value()?),
            "--exclude" => o.exclude.push(value()?),
            _ if o.file.is_empty() && !a.starts_with("--") => o.file = a,
            _ => return Err(format!("unexpected argument {a}")),
        }
    }
    if o.file.is_empty() {
        return Err("usage: profile-report FILE [--top N] [--kernel ELF] [--exclude S]...".into());
    }
    Ok(o)
}

/// The text symbols of `elf`, sorted by address, with Rust's hash suffixes removed.
fn symbols(elf: &str) -> Result<Vec<(u64, String)>, String> {
    let out = Command::new("nm")
        .args(["-n", "-C", elf])
        .output()
        .map_err(|e| format!("cannot run nm: {e}"))?;
    if !out.status.success() {
        return Err(format!("nm {elf}: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let mut syms: Vec<(u64, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ' ');
            let addr = u64::from_str_radix(parts.next()?, 16).ok()?;
            let kind = parts.next()?;
            let name = parts.next()?;
            matches!(kind, "t" | "T" | "w" | "W").then(|| (addr, without_hash(name).to_string()))
        })
        .collect();
    syms.sort();
    Ok(syms)
}

/// `name` without a trailing `::h` and 16 hex digits (a Rust symbol's hash).
fn without_hash(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            head
        }
        _ => name,
    }
}

/// The `-kernel` argument of the recorded command line.
fn kernel_of(header: &str) -> Option<String> {
    let mut words = header.split_whitespace();
    words.find(|w| *w == "-kernel")?;
    words.next().map(str::to_string)
}

fn run(o: &Options) -> Result<(), String> {
    let text = std::fs::read_to_string(&o.file).map_err(|e| format!("{}: {e}", o.file))?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let kernel = o.kernel.clone().or_else(|| kernel_of(header));
    let syms = match &kernel {
        Some(elf) => symbols(elf).unwrap_or_else(|e| {
            eprintln!("profile-report: {e}; kernel blocks are counted as [kernel]");
            Vec::new()
        }),
        None => Vec::new(),
    };
    let mut by_function: HashMap<&str, u64> = HashMap::new();
    for line in lines {
        let (addr, count) = line.split_once(' ').ok_or(format!("bad line {line:?}"))?;
        let addr = u64::from_str_radix(addr, 16).map_err(|e| format!("{line:?}: {e}"))?;
        let count: u64 = count.parse().map_err(|e| format!("{line:?}: {e}"))?;
        let name = if addr < USER_END {
            "[user]"
        } else {
            match syms.partition_point(|(a, _)| *a <= addr) {
                0 => "[kernel]",
                i => syms[i - 1].1.as_str(),
            }
        };
        *by_function.entry(name).or_default() += count;
    }
    let all: u64 = by_function.values().sum();
    let mut kept: Vec<(&str, u64)> = by_function
        .into_iter()
        .filter(|(name, _)| !o.exclude.iter().any(|e| name.contains(e.as_str())))
        .collect();
    kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let total: u64 = kept.iter().map(|(_, n)| n).sum();
    println!("{header}");
    println!(
        "{all} guest instructions, {total} after exclusions; kernel symbols from {}",
        kernel.as_deref().unwrap_or("nowhere")
    );
    for (name, n) in kept.iter().take(o.top) {
        println!("{:6.2}%  {name}", 100.0 * *n as f64 / total.max(1) as f64);
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse_args().and_then(|o| run(&o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("profile-report: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_removed_and_the_kernel_is_found_in_the_command_line() {
        assert_eq!(
            without_hash("kernel::fs::epoll::Epoll::wait::h0123456789abcdef"),
            "kernel::fs::epoll::Epoll::wait"
        );
        assert_eq!(
            without_hash("<ostd::mm::heap::KernelHeap>::alloc"),
            "<ostd::mm::heap::KernelHeap>::alloc"
        );
        let header = "# qemu-system-x86_64 -m 512M -kernel /k/kernel -append quiet ";
        assert_eq!(kernel_of(header).as_deref(), Some("/k/kernel"));
        assert_eq!(kernel_of("# qemu-system-x86_64 -m 1G"), None);
    }
}
