//! Frames on the pipes between the pool and its workers (to be written).
