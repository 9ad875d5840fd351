/// A configuration file problem, located: `file:line:column: message`.
public struct ServerXMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as given.
    public let file: String
    /// 1-based line.
    public let line: Int
    /// 1-based column.
    public let column: Int
    /// What is wrong and what is allowed.
    public let message: String

    /// Creates an error.
    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}
