//! Prints the sizes of the model's state and its parts (for docs/performance.md).
fn main() {
    use hsm_model::state::*;
    println!(
        "State {} B, Hsm {} B, Option<User> {} B, Option<Key> {} B, Option<MaskedObject> {} B, packed state at most {} B",
        std::mem::size_of::<State>(),
        std::mem::size_of::<Hsm>(),
        std::mem::size_of::<Option<User>>(),
        std::mem::size_of::<Option<Key>>(),
        std::mem::size_of::<Option<MaskedObject>>(),
        PACKED_LEN
    );
}
