//! The sandbox over real HTTP on loopback.
