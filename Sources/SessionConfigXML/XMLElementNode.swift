/// An element of a configuration file, with where each part was written.
public struct XMLElementNode: Sendable {
    /// One attribute and its position.
    public struct Attribute: Sendable {
        public let name: String
        public let value: String
        public let line: Int
        public let column: Int
    }

    public let name: String
    public let attributes: [Attribute]
    public let children: [XMLElementNode]
    public let line: Int
    public let column: Int

    /// The attribute named `name`, if present.
    public func attribute(_ name: String) -> Attribute? {
        attributes.first { $0.name == name }
    }
}
