// glibc's allocator was a fifth of a run's CPU (malloc, free and their
// consolidation, contended between the runtime's threads); mimalloc keeps
// per-thread heaps. Measured in docs/performance.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(runner::cli::main());
}
