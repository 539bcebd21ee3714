/**
 * Finds the parameters of the public API that have no description: every function and every
 * public method or constructor of a class that the package's entry points export, each parameter
 * needing an `@param name description` on one of its declarations (an overload set shares them).
 */
import ts from 'typescript';

export interface MissingParam {
  /** `Owner.method(param)` or `fn(param)`. */
  id: string;
  /** `src/…:line` of the first declaration. */
  where: string;
}

function described(decls: readonly ts.Node[], name: string): boolean {
  return decls.some((d) =>
    ts.getJSDocTags(d).some((tag) => {
      if (!ts.isJSDocParameterTag(tag) || tag.name.getText() !== name) return false;
      const text =
        typeof tag.comment === 'string' ? tag.comment : (ts.getTextOfJSDocComment(tag.comment) ?? '');
      return text.replace(/^[-\s]+/, '').trim() !== '';
    }),
  );
}

function isInternal(decls: readonly ts.Node[]): boolean {
  return decls.some((d) => ts.getJSDocTags(d).some((t) => t.tagName.text === 'internal'));
}

/** Parameters of the exports of `entryPoints` (relative to `root`) without a description. */
export function missingParamDocs(root: string, entryPoints: readonly string[]): MissingParam[] {
  const program = ts.createProgram(
    entryPoints.map((e) => `${root}/${e}`),
    {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noEmit: true,
    },
  );
  const checker = program.getTypeChecker();
  const out = new Map<string, MissingParam>();
  const where = (d: ts.Node): string => {
    const f = d.getSourceFile();
    return `${f.fileName.slice(root.length + 1)}:${f.getLineAndCharacterOfPosition(d.getStart()).line + 1}`;
  };
  const check = (id: string, decls: readonly ts.SignatureDeclaration[]): void => {
    if (decls.length === 0 || isInternal(decls)) return;
    for (const d of decls) {
      for (const p of d.parameters) {
        const name = p.name.getText();
        // a destructured parameter is documented by its type's fields
        if (!ts.isIdentifier(p.name)) continue;
        if (!described(decls, name) && !out.has(`${id}(${name})`))
          out.set(`${id}(${name})`, { id: `${id}(${name})`, where: where(decls[0]) });
      }
    }
  };
  for (const entry of entryPoints) {
    const file = program.getSourceFile(`${root}/${entry}`);
    const mod = file && checker.getSymbolAtLocation(file);
    if (!mod) throw new Error(`${entry}: not a module`);
    for (const exp of checker.getExportsOfModule(mod)) {
      const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
      const decls = sym.declarations ?? [];
      check(exp.name, decls.filter(ts.isFunctionDeclaration));
      for (const cls of decls.filter(ts.isClassDeclaration)) {
        const members = new Map<string, ts.SignatureDeclaration[]>();
        for (const m of cls.members) {
          if (!(ts.isMethodDeclaration(m) || ts.isConstructorDeclaration(m) || ts.isSetAccessor(m))) continue;
          const flags = ts.getCombinedModifierFlags(m);
          if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
          if (m.name && ts.isPrivateIdentifier(m.name)) continue;
          const key = `${exp.name}.${m.name ? m.name.getText() : 'constructor'}`;
          members.set(key, [...(members.get(key) ?? []), m]);
        }
        for (const [key, ms] of members) check(key, ms);
      }
    }
  }
  return [...out.values()];
}
