"""{% catalogue_fragment "name" %}…{% endcatalogue_fragment %}: a part of a catalogue page kept
in the cache per URL and catalogue version, with each visitor's own CSRF token swapped in.

Only for markup that is the same for every visitor of the URL (signed in or not) apart from
the CSRF token: never for anything that shows the visitor's name, cart or wishlist.
See products.catalogue_cache.fragment_cached.
"""

from django import template
from django.utils.safestring import mark_safe

from products.catalogue_cache import fragment_cached, query_is_cacheable

register = template.Library()


class CatalogueFragmentNode(template.Node):
    def __init__(self, nodelist, name):
        self.nodelist = nodelist
        self.name = name

    def render(self, context):
        request = context.get("request")
        view = context.get("view")
        params = getattr(view, "page_cache_params", frozenset())
        if request is None or not query_is_cacheable(request, params):
            return self.nodelist.render(context)
        token = str(context.get("csrf_token", ""))
        return mark_safe(  # noqa: S308 - the template's own output, escaped when it was rendered
            fragment_cached(
                request,
                str(self.name.resolve(context)),
                token,
                lambda: self.nodelist.render(context),
            )
        )


@register.tag("catalogue_fragment")
def catalogue_fragment(parser, token):
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError(f"{bits[0]} takes one argument: a name.")
    nodelist = parser.parse(("endcatalogue_fragment",))
    parser.delete_first_token()
    return CatalogueFragmentNode(nodelist, parser.compile_filter(bits[1]))
