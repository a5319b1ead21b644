//! (temporary stand-in until the encoder lands)

use crate::config::Operation;
use crate::row::Input;

pub fn request_body(op: Operation, id_property: Option<&str>, inputs: &[Input]) -> Vec<u8> {
    let _ = (op, id_property, inputs);
    Vec::new()
}
