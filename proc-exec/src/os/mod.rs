//! The thin OS layer (to be written).
