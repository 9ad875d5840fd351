import Foundation

/// What a process uses, read from `/proc` (Linux): for tests that bound memory or CPU.
public enum ProcessUsage {
    /// Resident memory in bytes of `pid` (this process when `nil`), from `/proc/PID/statm`.
    public static func residentBytes(of pid: Int32? = nil) throws -> Int {
        let path = "/proc/\(pid.map(String.init) ?? "self")/statm"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw ClientError("unreadable \(path)")
        }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// CPU seconds (user + system) `pid` has used, from `/proc/PID/stat`.
    public static func cpuSeconds(of pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name, which is in parentheses and may contain spaces.
        guard let close = stat.lastIndex(of: ")") else { throw ClientError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw ClientError("unreadable /proc/\(pid)/stat")
        }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
