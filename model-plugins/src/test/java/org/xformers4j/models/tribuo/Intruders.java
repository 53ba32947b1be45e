package org.xformers4j.models.tribuo;

import com.oracle.labs.mlrg.olcut.config.Configurable;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A configurable class whose name has as many bytes as {@link LabelHead}'s, standing for any class
 * a crafted model file could name: it counts its instances, which loading must never create.
 */
public final class Intruders implements Configurable {

    static final AtomicInteger instances = new AtomicInteger();

    public Intruders() {
        instances.incrementAndGet();
    }
}
