//! The `etl` binary: parses the command line, calls the library, and decides the exit code.

fn main() {
    println!("etl: under construction");
}
