package org.xformers4j.compute.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Whether the CPU backend can use the Vector API, and the one warning it logs when it cannot: in a
 * JVM started without {@code --add-modules jdk.incubator.vector} (a child JVM: the build gives the
 * test JVM the module), and for a class loader that cannot see the package (an OSGi framework that
 * does not export it).
 */
class VectorApiTest {

    @Test
    void theTestJvmHasTheVectorApiAndTheBackendUsesIt() {
        assertThat(ModuleLayer.boot().findModule(VectorApi.MODULE)).as("the build's --add-modules").isPresent();
        assertThat(VectorApi.unavailability(ModuleLayer.boot(), VectorApi.class.getClassLoader())).isEmpty();
        assertThat(VectorApi.USABLE).isTrue();
    }

    @Test
    void aJvmWithoutTheModuleIsToldToAddIt() {
        assertThat(VectorApi.unavailability(ModuleLayer.empty(), VectorApi.class.getClassLoader())).hasValueSatisfying(
                message -> assertThat(message).contains("--add-modules jdk.incubator.vector", "scalar kernels"));
    }

    @Test
    void aFrameworkThatHidesThePackageIsToldToExportIt() {
        ClassLoader hidesVectorApi = new ClassLoader(VectorApiTest.class.getClassLoader()) {
            @Override
            protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                if (name.startsWith(VectorApi.MODULE + ".")) {
                    throw new ClassNotFoundException(name);
                }
                return super.loadClass(name, resolve);
            }
        };
        assertThat(VectorApi.unavailability(ModuleLayer.boot(), hidesVectorApi)).hasValueSatisfying(
                message -> assertThat(message).contains("org.osgi.framework.system.packages.extra=jdk.incubator.vector",
                        "org.xformers4j.plugin.api", "scalar kernels"));
    }

    @Test
    void withoutTheModuleTwoBackendsLogOneWarningNamingTheFlagAndRunScalarKernels() throws Exception {
        Run run = runTwoBackends(false);
        assertThat(run.out()).hasSize(2).allMatch(line -> line.matches("cpu: \\d+ threads, GEMM scalar"));
        assertThat(run.err().stream().filter(line -> line.contains("Vector API")))
                .singleElement().asString().contains("--add-modules jdk.incubator.vector");
        assertThat(run.err().stream().filter(line -> line.contains(VectorApi.class.getName()))).as("log records").hasSize(1);
    }

    @Test
    void withTheModuleTwoBackendsRunSimdKernelsWithoutWarning() throws Exception {
        Run run = runTwoBackends(true);
        assertThat(run.out()).hasSize(2).allMatch(line -> line.matches("cpu: \\d+ threads, GEMM simd"));
        assertThat(run.err()).noneMatch(line -> line.contains(VectorApi.class.getName()) || line.contains("Vector API"));
    }

    /** Standard output and error lines of a child JVM running {@link TwoCpuBackends}. */
    record Run(List<String> out, List<String> err) {
    }

    private static Run runTwoBackends(boolean withVectorModule) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (withVectorModule) {
            command.addAll(List.of("--add-modules", VectorApi.MODULE));
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), TwoCpuBackends.class.getName()));
        Process process = new ProcessBuilder(command).start();
        process.getOutputStream().close();
        // Small outputs: read them after the exit, which the timeout bounds.
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("child JVM exited").isTrue();
        List<String> out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        List<String> err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertThat(process.exitValue()).as("exit code; stderr: " + err).isZero();
        return new Run(out, err);
    }
}
