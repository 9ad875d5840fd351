// This file imports the core only, so that `Session` and `SessionID` here are the core's: Vapor
// has types of the same names, and a file that imports both cannot name ours (the core's module is
// also called `SessionManager`, like its main class, so `SessionManager.Session` does not work).
import SessionManager

/// The core's session (``SessionManager/Session``), as ``Vapor/Request/clusterSession()`` returns
/// it: a name that does not collide with Vapor's own `Session` in a file that imports both.
public typealias ClusterSession = Session

/// The core's session id, under a name that does not collide with Vapor's `SessionID`.
public typealias ClusterSessionID = SessionID
