//! (temporary stand-in until the batcher lands)

use crate::row::Input;

#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub inputs: Vec<Input>,
}
