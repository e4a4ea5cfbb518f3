//! Without the `bindgen` feature this build script does nothing.
fn main() {}
