/// The instance each store node last named (``InstanceNaming``), to tell which nodes restarted
/// since they were last asked: pure, so the rule is tested without a store.
struct NodeInstances: Sendable {
    private var names: [String: String] = [:]

    /// Records that `node` answers as `name`: `true` when it named another instance before (it
    /// restarted), `false` the first time or when unchanged.
    mutating func record(_ name: String, for node: String) -> Bool {
        defer { names[node] = name }
        guard let before = names[node] else { return false }
        return before != name
    }
}
