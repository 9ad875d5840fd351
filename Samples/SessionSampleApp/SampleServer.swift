import Logging
import SessionConfigXML
import SessionHTTP
import SessionManager
import SessionStores

/// Everything the sample executable and its tests share: the app registry and the default setup.
public enum SampleServer {
    /// The apps a configuration file may mount, by name.
    public static func apps() -> [String: HTTPAppFactory] {
        ["sample": { _ in try SampleApp(jvmRoute: nil) }, StatusApp.name: { _ in StatusApp() }]
    }

    /// The configuration used without `--config`: port 8080, `/myapp` (memory store, static files
    /// ignored) and the status app on `/status`.
    public static func defaultConfiguration(port: Int = 8080) throws -> ServerConfiguration {
        var manager = ManagerConfiguration(storageKeyPrefix: "sm:/myapp:")
        manager.requestUriIgnorePattern = try RequestURIIgnorePattern(RequestURIIgnorePattern.defaultPattern)
        return ServerConfiguration(
            connector: ConnectorConfiguration(port: port),
            contexts: [
                ContextConfiguration(path: "/myapp", app: "sample", manager: manager),
                ContextConfiguration(path: "/status", app: StatusApp.name, manager: ManagerConfiguration(storageKeyPrefix: "sm:/status:")),
            ]
        )
    }

    /// Loads a configuration file, validating app names against ``apps()``.
    public static func loadConfiguration(path: String) throws(ServerXMLError) -> ServerConfiguration {
        try ServerXMLLoader(knownApps: Set(apps().keys)).load(contentsOf: path)
    }

    /// Builds the server for a configuration; by default each context gets the store its
    /// `<Manager memcachedNodes=…>` names (the memory store without one).
    ///
    /// `metricsExposition`: the Prometheus text of the metrics backend the program bootstrapped,
    /// served by the status app at `<context>/metrics` (the executable passes swift-prometheus's).
    public static func makeServer(
        configuration: ServerConfiguration,
        stores: SessionStoreFactory? = nil,
        metricsExposition: (@Sendable () -> [UInt8])? = nil,
        logger: Logger
    ) throws -> HTTPServer {
        let route = configuration.jvmRoute
        let apps: [String: HTTPAppFactory] = [
            "sample": { _ in try SampleApp(jvmRoute: route) },
            StatusApp.name: { _ in StatusApp(exposition: metricsExposition) },
        ]
        if let stores { return try HTTPServer(configuration: configuration, apps: apps, stores: stores, logger: logger) }
        return try HTTPServer(
            configuration: configuration,
            apps: apps,
            nodes: { context in try SessionStores.makeNodes(for: context.manager, logger: logger) },
            logger: logger
        )
    }
}
