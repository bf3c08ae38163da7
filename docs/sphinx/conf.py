# Sphinx configuration of the docs site (`make docs`, tools/build_docs.py). Adapted from what
# `antsibull-docs sphinx-init --use-current algorithmia.testbench` writes, with these changes:
# - no intersphinx: it fetches inventories over the network, which CI does not have. The few
#   labels of the Ansible docs that antsibull-docs' pages refer to are linked from ANSIBLE_DOCS_LABELS
#   below instead; any other reference that resolves nowhere still fails the build (nitpicky, -W);
# - myst_parser, so that the Markdown guides (docs/usage.md, docs/localcluster.md) are pages of the
#   site as they are written (tools/build_docs.py puts them among the sources);
# - no autodoc (there is no Python API to document).

project = "algorithmia.testbench"
copyright = "Algorithmia testbench maintainers"

title = "algorithmia.testbench"
html_short_title = "algorithmia.testbench"

extensions = ["sphinx_antsibull_ext", "myst_parser"]

pygments_style = "ansible"

# A block of the Markdown guides without a language is what a run prints: plain text (antsibull-docs
# names yaml+jinja on every block of its pages).
highlight_language = "none"

html_theme = "sphinx_ansible_theme"
html_show_sphinx = False

display_version = False

html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

default_role = "any"

nitpicky = True

# The Markdown guides link to their own sections (`[Reports](#reports)`), as GitHub renders them.
myst_heading_anchors = 3

# Labels of the Ansible documentation that antsibull-docs' generated pages refer to, with where they
# are (what intersphinx would have found in the inventory of docs.ansible.com's devel docs).
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"
ANSIBLE_DOCS_LABELS = {
    "action_plugins": ("plugins/action.html#action-plugins", "Action plugins"),
    "ansible_configuration_settings": ("reference_appendices/config.html#ansible-configuration-settings",
                                       "Ansible Configuration Settings"),
    "callback_plugins": ("plugins/callback.html#callback-plugins", "Callback plugins"),
    "common_return_values": ("reference_appendices/common_return_values.html#common-return-values",
                             "Return Values"),
}


def _link_ansible_docs_label(app, env, node, contnode):
    """A `:ref:` to one of ANSIBLE_DOCS_LABELS becomes a link to docs.ansible.com; others stay unresolved."""
    from docutils import nodes

    if node.get("reftype") != "ref" or node.get("reftarget") not in ANSIBLE_DOCS_LABELS:
        return None
    path, title = ANSIBLE_DOCS_LABELS[node["reftarget"]]
    reference = nodes.reference("", "", internal=False, refuri=ANSIBLE_DOCS + path)
    reference += contnode if node.get("refexplicit") else nodes.Text(title)
    return reference


def setup(app):
    app.connect("missing-reference", _link_ansible_docs_label)
