//! `container-services KERNEL_ELF` (`make test-containers`): Debian's python3 http.server and
//! redis-server as container images, served to the host (tests::container_services).
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, elf] = args.as_slice() else {
        eprintln!("usage: container-services KERNEL_ELF");
        return ExitCode::from(2);
    };
    let root = std::env::current_dir().expect("a current directory");
    let scratch = root.join("target/test-containers");
    match tests::container_services::run(&root, Path::new(elf), &scratch) {
        Ok(summary) => {
            println!("PASS  container images of Debian's servers: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("FAIL  container images of Debian's servers: {e}");
            ExitCode::FAILURE
        }
    }
}
