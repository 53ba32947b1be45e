package org.xformers4j.component.processor;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.RoundEnvironment;
import javax.annotation.processing.SupportedAnnotationTypes;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.Modifier;
import javax.lang.model.element.PackageElement;
import javax.lang.model.element.TypeElement;
import javax.tools.Diagnostic;
import javax.tools.FileObject;
import javax.tools.StandardLocation;

/**
 * Makes a component one class: for every class annotated with
 * {@link org.xformers4j.component.ComponentInfo} it generates the provider {@code <Class>Provider}
 * in the same package, a {@link org.xformers4j.component.ConfigurableComponentProvider} published
 * as a Declarative Services component (bnd turns the annotation into its OSGI-INF description),
 * and it lists every generated provider in
 * {@code META-INF/services/org.xformers4j.component.ComponentProvider} for
 * {@link java.util.ServiceLoader} on a plain class path. A bundle module switches it on for its
 * main sources in its pom (maven-compiler-plugin {@code annotationProcessors}); it is not found
 * by service discovery, so test fixtures keep their hand-written providers.
 *
 * <p>A component class must be a public, non-abstract top-level class; anything else is a
 * compile error naming it.
 */
@SupportedAnnotationTypes(ProviderProcessor.COMPONENT_INFO)
public final class ProviderProcessor extends AbstractProcessor {

    static final String COMPONENT_INFO = "org.xformers4j.component.ComponentInfo";
    private static final String SERVICE_FILE = "META-INF/services/org.xformers4j.component.ComponentProvider";

    private final List<String> providers = new ArrayList<>();

    @Override
    public SourceVersion getSupportedSourceVersion() {
        return SourceVersion.latestSupported();
    }

    @Override
    public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
        for (TypeElement annotation : annotations) {
            for (Element element : round.getElementsAnnotatedWith(annotation)) {
                generate(element);
            }
        }
        if (round.processingOver() && !providers.isEmpty()) {
            writeServiceFile();
        }
        return false;
    }

    /** Writes {@code <Class>Provider} for the component class {@code element}. */
    private void generate(Element element) {
        if (element.getKind() != ElementKind.CLASS || !element.getModifiers().contains(Modifier.PUBLIC)
                || element.getModifiers().contains(Modifier.ABSTRACT)
                || element.getEnclosingElement().getKind() != ElementKind.PACKAGE) {
            processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR, "@ComponentInfo needs a public, "
                    + "non-abstract top-level class to generate its provider", element);
            return;
        }
        TypeElement component = (TypeElement) element;
        String pkg = ((PackageElement) component.getEnclosingElement()).getQualifiedName().toString();
        String simple = component.getSimpleName() + "Provider";
        String qualified = pkg.isEmpty() ? simple : pkg + "." + simple;
        try (Writer out = processingEnv.getFiler().createSourceFile(qualified, component).openWriter()) {
            out.write(source(pkg, simple, component.getSimpleName().toString()));
        } catch (IOException e) {
            processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR, "cannot write " + qualified + ": "
                    + e.getMessage(), element);
            return;
        }
        providers.add(qualified);
    }

    private static String source(String pkg, String provider, String component) {
        return (pkg.isEmpty() ? "" : "package " + pkg + ";\n\n")
                + "/** Publishes {@link " + component + "} as a component; generated from its @ComponentInfo. */\n"
                + "@javax.annotation.processing.Generated(\"" + ProviderProcessor.class.getName() + "\")\n"
                + "@org.osgi.service.component.annotations.Component(service = "
                + "org.xformers4j.component.ComponentProvider.class)\n"
                + "public final class " + provider + "\n"
                + "        extends org.xformers4j.component.ConfigurableComponentProvider<" + component + "> {\n\n"
                + "    public " + provider + "() {\n"
                + "        super(" + component + ".class);\n"
                + "    }\n"
                + "}\n";
    }

    private void writeServiceFile() {
        try {
            FileObject file = processingEnv.getFiler().createResource(StandardLocation.CLASS_OUTPUT, "", SERVICE_FILE);
            try (Writer out = file.openWriter()) {
                for (String provider : providers.stream().sorted().toList()) {
                    out.write(provider + "\n");
                }
            }
        } catch (IOException e) {
            processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR, "cannot write " + SERVICE_FILE + ": "
                    + e.getMessage());
        }
    }
}
