//! The `apr` binary: everything lives in the library; see `apr::cli`.

fn main() {
    std::process::exit(apr::cli::main());
}
