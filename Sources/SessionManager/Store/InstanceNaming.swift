/// A store server that names its running instance: a new name means it restarted, and holds none
/// of the copies it held. The sticky manager then writes again the resident sessions whose copies
/// lived there, so that a rolling restart of the nodes that keep each other's copies (the peer
/// endpoints of issue 32, or memcached beside each app node) loses nothing.
package protocol InstanceNaming: SessionStore {
    /// The name of the instance that answers now (memcached: its `version` line; the peer
    /// endpoint puts a name of its process there).
    func instanceName() async throws -> String
}
