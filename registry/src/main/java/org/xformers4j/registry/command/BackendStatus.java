package org.xformers4j.registry.command;

import org.xformers4j.compute.ComputeBackend;

/**
 * What the commands show of a compute backend, read once.
 *
 * @param name        e.g. {@code cpu}
 * @param available   whether it can run here
 * @param description what runs where, or why it is not available
 */
record BackendStatus(String name, boolean available, String description) {

    static BackendStatus of(ComputeBackend backend) {
        return new BackendStatus(backend.name(), backend.isAvailable(), backend.description());
    }
}
