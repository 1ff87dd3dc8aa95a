PREFIX ccis: <https://w3id.org/ccis/ns#>
DELETE { ?r ?p ?o } INSERT { ?r a ccis:Withdrawn } WHERE { GRAPH ?g { ?r ?p ?o } }