//! Gives this crate PyO3's cfgs (`Py_GIL_DISABLED` for a free-threaded
//! interpreter), which `gil_cell.rs` depends on.

fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}
